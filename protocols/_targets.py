"""Target maps for programming: an NPZ/CSV file, or random levels inside the device window."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from labctl.core.errors import ConfigError


def load_target_file(path: str) -> tuple[np.ndarray, np.ndarray]:
    """(targets S, mask) from an NPZ with ``targets`` [+ boolean ``mask``] or a CSV matrix of siemens.

    NaN targets are never programmed (mask False).
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError.invalid("targets", path, "an existing .npz or .csv file")
    try:
        if p.suffix.lower() == ".npz":
            with np.load(p, allow_pickle=False) as z:
                if "targets" not in z.files:
                    raise ConfigError.invalid("targets", path, "an NPZ holding an array named 'targets'")
                targets = np.asarray(z["targets"], dtype=np.float64)
                mask = np.asarray(z["mask"], dtype=bool) if "mask" in z.files else np.ones(targets.shape, bool)
        else:
            targets = np.atleast_2d(np.loadtxt(p, delimiter=",", dtype=np.float64, ndmin=2))
            mask = np.ones(targets.shape, bool)
    except (OSError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError.invalid("targets", path, f"a readable NPZ/CSV target map ({exc})") from None
    if targets.ndim != 2 or mask.shape != targets.shape:
        raise ConfigError.invalid("targets", f"shape {targets.shape}", "a 2-D map, mask of the same shape")
    mask = mask & np.isfinite(targets)
    bad = mask & ~(targets > 0)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise ConfigError.out_of_range(f"targets[{r},{c}]", float(targets[r, c]), 0.0, None, "S (must be > 0)")
    return targets, mask


def random_level_targets(
    levels: int, g_min: float, g_max: float, shape: tuple[int, int], seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Targets drawn uniformly from ``levels`` evenly spaced conductances in [g_min, g_max] (S)."""
    values = np.linspace(g_min, g_max, levels)
    rng = np.random.default_rng(seed)
    targets = values[rng.integers(0, levels, size=shape)]
    return targets, np.ones(shape, bool)


def place(
    targets: np.ndarray, mask: np.ndarray, origin: tuple[int, int], rows: int, cols: int
) -> tuple[np.ndarray, np.ndarray]:
    """Full-array (targets, mask) with the map placed at ``origin``; error if it does not fit."""
    r0, c0 = origin
    h, w = targets.shape
    if r0 + h > rows or c0 + w > cols:
        raise ConfigError.invalid(
            "targets", f"shape {targets.shape} at origin {origin}", f"a map fitting the {rows}x{cols} array"
        )
    full_t = np.full((rows, cols), np.nan)
    full_m = np.zeros((rows, cols), bool)
    full_t[r0:r0 + h, c0:c0 + w] = targets
    full_m[r0:r0 + h, c0:c0 + w] = mask
    return full_t, full_m
