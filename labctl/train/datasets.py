"""The data sets (no downloads): seed 000's 4x4 letters, scikit-learn's bundled digits and breast cancer.

Each loader returns a :class:`Dataset` of float32 features in ``[0, 1]`` (or standardized, see below) and
int64 labels, already split. Splits are stratified and seeded.

* ``letters``: train = the 40 clean letters of seed 000 (A, X, V, T; label order A=0, X=1, V=2, T=3); test = the
  640 single-pixel-flip variants (each clean letter with one of its 16 pixels inverted, seed 000 cell [5]);
  ``test160`` = a seeded stratified 160-image subset (40 per letter), the size seed 001 reports on. Features are
  pixels in {0, 1} (1 = dark).
* ``digits``: 8x8 digits, pixels / 16, 1257 train / 540 test (stratified, seed 0), as the anchors' benchmark.
* ``breast-cancer``: 30 features standardized on the training part (3 sigma -> +-1, clipped); 40 % train /
  30 % validation / 30 % test
  (seed 004's split).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

import numpy as np
import numpy.typing as npt

from labctl.core.errors import ConfigError

DATASETS = ("letters", "digits", "breast-cancer")
LETTERS = ("A", "X", "V", "T")


@dataclass(frozen=True)
class Dataset:
    """Features ``x`` (n, features) float32 and labels ``y`` (n,) int64 for each split."""

    name: str
    x_train: npt.NDArray[np.float32]
    y_train: npt.NDArray[np.int64]
    x_test: npt.NDArray[np.float32]
    y_test: npt.NDArray[np.int64]
    x_val: npt.NDArray[np.float32] | None = None
    y_val: npt.NDArray[np.int64] | None = None
    classes: tuple[str, ...] = ()

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def n_classes(self) -> int:
        return len(self.classes)


def letters_images() -> dict[str, npt.NDArray[np.uint8]]:
    """The 10 clean 4x4 images of each letter (1 = dark pixel), from the packaged seed-000 JSON."""
    raw = json.loads(resources.files("labctl.train").joinpath("data/letters_4x4.json").read_text())
    return {k: np.asarray(raw["images"][k], dtype=np.uint8) for k in LETTERS}


def letters_flips(images: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Seed 000 cell [5]: every image with each one of its 16 pixels inverted -> (16 n, 4, 4)."""
    out = np.repeat(images, 16, axis=0).copy()
    for s in range(images.shape[0]):
        for p in range(16):
            i, j = divmod(p, 4)
            out[s * 16 + p, i, j] ^= 1
    return out


def load_letters(seed: int = 0) -> Dataset:
    imgs = letters_images()
    xs = [imgs[k].reshape(len(imgs[k]), 16) for k in LETTERS]
    x_train = np.concatenate(xs).astype(np.float32)
    y_train = np.concatenate([np.full(len(a), i) for i, a in enumerate(xs)]).astype(np.int64)
    flips = [letters_flips(imgs[k]).reshape(-1, 16) for k in LETTERS]
    x_test = np.concatenate(flips).astype(np.float32)
    y_test = np.concatenate([np.full(len(a), i) for i, a in enumerate(flips)]).astype(np.int64)
    return Dataset("letters", x_train, y_train, x_test, y_test, classes=LETTERS)


def letters_test160(ds: Dataset, seed: int = 0) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """A seeded, stratified 160-image subset (40 per letter) of the 640 flipped test images."""
    rng = np.random.default_rng(seed)
    idx = np.concatenate([rng.choice(np.flatnonzero(ds.y_test == c), 40, replace=False) for c in range(4)])
    idx.sort()
    return ds.x_test[idx], ds.y_test[idx]


def load_digits(seed: int = 0) -> Dataset:
    from sklearn.datasets import load_digits as sk_digits
    from sklearn.model_selection import train_test_split

    d = sk_digits()
    x = (d.data / 16.0).astype(np.float32)
    xtr, xte, ytr, yte = train_test_split(x, d.target, test_size=540, stratify=d.target, random_state=seed)
    return Dataset("digits", xtr, ytr.astype(np.int64), xte, yte.astype(np.int64),
                   classes=tuple(str(i) for i in range(10)))


def load_breast_cancer(seed: int = 0) -> Dataset:
    from sklearn.datasets import load_breast_cancer as sk_bc
    from sklearn.model_selection import train_test_split

    d = sk_bc()
    x, y = d.data.astype(np.float64), d.target.astype(np.int64)
    xtr, xrest, ytr, yrest = train_test_split(x, y, train_size=0.4, stratify=y, random_state=seed)
    xva, xte, yva, yte = train_test_split(xrest, yrest, test_size=0.5, stratify=yrest, random_state=seed)
    mu, sd = xtr.mean(axis=0), xtr.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)

    def scale(a: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
        # standardized on the training part, 3 sigma -> +-1 (input voltages +-V_READ), clipped there
        return np.asarray(np.clip((a - mu) / (3.0 * sd), -1.0, 1.0), dtype=np.float32)

    return Dataset("breast-cancer", scale(xtr), ytr, scale(xte), yte, scale(xva), yva,
                   classes=("malignant", "benign"))


def load_dataset(name: str, seed: int = 0) -> Dataset:
    """Load one of :data:`DATASETS` by name."""
    if name == "letters":
        return load_letters(seed)
    if name == "digits":
        return load_digits(seed)
    if name == "breast-cancer":
        return load_breast_cancer(seed)
    raise ConfigError.invalid("dataset", name, ", ".join(DATASETS))
