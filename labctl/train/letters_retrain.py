"""Chip-in-the-loop retraining of the soft-binarized letters network (seeds 000/001) around measured maps.

``labctl.train.retrain.chip_in_the_loop`` retrains a :class:`~labctl.train.mlp.CrossbarMLP`; this is the same idea
for :class:`~labctl.train.letters.SoftBinaryNet`, whose devices are binary (``G_ON``/``G_OFF``):

* stuck and failed cells are frozen at the conductance they read (a stuck-ON cell of the simulated chip reads
  about 1.8 mS, far outside the window, and the network must learn around it);
* every other cell keeps its latent weight and is retrained with binarized forward and soft-binarization gradient
  (STE), on the training letters with input noise, as the improved recipe's fine-tuning; a cell whose binary state
  the retraining keeps enters the forward pass at the conductance it reads (not the nominal G_ON / G_OFF), one it
  changes at its new target; the periphery (the amplifiers' bias currents of a ``bias=True`` network) stays as
  deployed, so the bench inference before and after uses the same periphery;
* ``outcomes`` (what the chip's write-verify delivers: the conductances read after programming cells to OFF and
  to ON, e.g. the first programming of these maps, overshoots and cells that did not switch included): each
  changed cell enters the forward pass at a conductance drawn from that pool, during training and in the
  comparison of restarts (expected loss over ``draws`` draws), so the network does not count on reprogrammed cells
  landing exactly on G_ON / G_OFF, and a retraining that needs many unreliable changes loses to one that needs few;
* new targets carry a ``mask`` of only the usable cells whose binary state changed (|new target - measured|
  > ``tolerance`` x window span); every other cell keeps what it reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor
from torch.nn import functional as F

from labctl.core.errors import ConfigError
from labctl.train.base import accuracy
from labctl.train.datasets import Dataset, letters_test160, load_letters
from labctl.train.layers import hard_binarize_ste
from labctl.train.letters import SoftBinaryNet, flip_pixels
from labctl.train.mapping import binary_to_conductance
from labctl.train.measured import MeasuredMap
from labctl.train.retrain import ChipLoopResult, check_layers, retarget_layers
from labctl.train.targets import TargetMap

Progress = Callable[[int, int, dict[str, float]], None]


@dataclass
class BinaryLoopResult(ChipLoopResult[SoftBinaryNet]):
    """:class:`~labctl.train.retrain.ChipLoopResult` of the letters network, with the stuck/failed cells per layer."""

    fixed_cells: dict[str, int]


def binary_targets(model: SoftBinaryNet) -> dict[str, TargetMap]:
    """Per-layer binary targets in float64 through :func:`~labctl.train.mapping.binary_to_conductance`.

    Same cells as ``model.target_maps()``, which binarizes in float32 and so can land a hair outside a window
    whose ends are not float32 numbers (``TargetMap`` then refuses it).
    """
    out = {}
    for k, (name, w) in enumerate(zip(model.layer_names(), model.weights, strict=True)):
        g = binary_to_conductance(model._to_map(w.detach()), model.window)
        out[name] = TargetMap(name, g, "binary", model.window, columns="interleaved_pairs" if model.differential
                              else "single", periphery=model.periphery(k))
    return out


def measured_accuracy(model: SoftBinaryNet, maps: dict[str, npt.NDArray[np.float64]],
                      x: npt.NDArray[np.float32], y: npt.NDArray[np.int64]) -> float:
    """Accuracy (0..1) of the binarized network with these layers' conductance maps (crossbar layout)."""
    model.eval()
    with torch.no_grad():
        return accuracy(model.forward_hw(torch.as_tensor(x), maps), torch.as_tensor(y))


def _selection_set(ds: Dataset, noise_std: float, copies: int, seed: int) -> tuple[Tensor, Tensor]:
    """Noisy copies of the training letters (fixed seed): the set restarts and fits are chosen on."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.as_tensor(ds.x_train).repeat(copies, 1)
    y = torch.as_tensor(ds.y_train).repeat(copies)
    return x + torch.randn(x.shape, generator=gen) * noise_std, y


def selection_loss(model: SoftBinaryNet, gs: list[Tensor] | Callable[[int], list[Tensor]], ds: Dataset,
                   noise_std: float = 0.25, copies: int = 10, logit_scale: float = 5.0, seed: int = 12345,
                   draws: int = 1, gains: list[Tensor] | None = None) -> float:
    """Cross-entropy on noisy copies of the training letters (fixed seed): picks between restarts without
    looking at the test images. ``gs`` may be a function of a draw number (the chip after one draw of
    reprogramming failures); the loss is then the mean over ``draws``. ``gains``: as for ``SoftBinaryNet._run``."""
    x, y = _selection_set(ds, noise_std, copies, seed)
    model.eval()
    chips = [gs] if isinstance(gs, list) else [gs(k) for k in range(draws)]
    with torch.no_grad():
        return float(np.mean([float(F.cross_entropy(model._run(x, g, gains=gains)[0] * logit_scale, y))
                              for g in chips]))


def selection_errors(model: SoftBinaryNet, gs: list[Tensor], ds: Dataset, noise_std: float = 0.25, copies: int = 10,
                     seed: int = 12345, gains: list[Tensor] | None = None) -> int:
    """Letters of :func:`selection_loss`'s noisy set that the network on conductances ``gs`` gets wrong."""
    x, y = _selection_set(ds, noise_std, copies, seed)
    model.eval()
    with torch.no_grad():
        return int((model._run(x, gs, gains=gains)[0].argmax(1) != y).sum())


def gains_on_letters(loss_before: float, errors_before: float, loss_after: float, errors_after: float) -> bool:
    """Whether a change to the chip or its periphery is worth making, judged on the noisy training letters only
    (the test images decide nothing): a lower selection loss *and* fewer letters wrong (a lower loss alone may only
    make the network surer of what it already gets right; decisions 0061, 0063)."""
    return loss_after < loss_before and errors_after < errors_before


def augmentation(recipe: dict[str, Any] | None, flip_p: float, noise_std: float
                 ) -> Callable[[Tensor, torch.Generator], Tensor]:
    """How a training batch is augmented: a robust recipe's mixed flips and pixel noise (``max_flips`` /
    ``max_sigma``, :func:`~labctl.train.letters_robust.augment_letters`), else pixels inverted with probability
    ``flip_p`` plus Gaussian noise of std ``noise_std``."""
    from labctl.train.letters_robust import augment_letters

    rc = recipe or {}
    if int(rc.get("max_flips", 0)) > 0 or float(rc.get("max_sigma", 0.0)) > 0:
        flips, sigma = int(rc["max_flips"]), float(rc["max_sigma"])
        return lambda xb, gen: augment_letters(xb, gen, flips, sigma)
    return lambda xb, gen: flip_pixels(xb, flip_p, gen) + torch.randn(xb.shape, generator=gen) * noise_std


def retrain_letters(
    model: SoftBinaryNet,
    measured: dict[str, MeasuredMap],
    data: Dataset | None = None,
    *,
    epochs: int = 60,
    lr: float = 1e-3,
    noise_std: float = 0.25,
    logit_scale: float = 5.0,
    tolerance: float = 0.25,
    seed: int = 0,
    restarts: int = 0,
    continuations: int = 0,
    flip_p: float = 0.0,
    recipe: dict[str, Any] | None = None,
    outcomes: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
    draws: int = 8,
    progress: Progress | None = None,
) -> BinaryLoopResult:
    """Retrain ``model`` (in place) around the measured chip; return new targets masked to the changed cells.

    ``continuations`` extra runs start from the trained weights again with other seeds (other batches, augmentations
    and drawn outcomes: on a chip with many frozen cells their outcomes spread by a few test images), ``restarts``
    extra runs from fresh small weights; the run with the lowest :func:`selection_loss` (noisy training letters,
    never the test images) is kept. Each run's learning rate decays from ``lr`` to 0 on a cosine over its epochs.
    ``flip_p``: each training pixel inverted with this probability per batch (the recipe's multi-pixel-flip
    augmentation). ``recipe``: the training recipe; when it is a robust one (``max_flips`` / ``max_sigma``,
    ``zeta_train``, see :mod:`labctl.train.letters_robust`) the retraining uses its mixed augmentation instead of
    ``flip_p`` + ``noise_std``, and its training sharpness for the STE gradient (at zeta 500 the gradient of a trained,
    saturated cell vanishes and retraining could move only the biases). ``outcomes``: (conductances read after
    programming cells to OFF, to ON), S, from which changed cells are drawn; ``draws``: chips drawn per restart's
    selection loss.
    """
    rc = recipe or {}
    augment = augmentation(rc, flip_p, noise_std)
    zeta = float(rc.get("zeta_train", model.zeta))
    check_layers(model, measured)
    names = model.layer_names()
    if not 0 < tolerance < 1:
        raise ConfigError.out_of_range("tolerance", tolerance, 0.0, 1.0, "of the window span")
    if continuations < 0 or restarts < 0:
        raise ConfigError.invalid("continuations/restarts", (continuations, restarts), ">= 0")
    pools: list[Tensor] = []
    for label, pool in zip(("outcomes[off]", "outcomes[on]"), outcomes, strict=True) if outcomes else ():
        a = np.asarray(pool, dtype=np.float64).ravel()
        if a.size == 0 or not np.all(np.isfinite(a) & (a >= 0)):
            raise ConfigError.invalid(label, f"{a.size} values", "conductances read after programming, S (>= 0)")
        pools.append(torch.as_tensor(a, dtype=torch.float32))
    ds = data or load_letters()
    x160, y160 = letters_test160(ds)
    wd = model.window
    meas_np = {k: m.conductance for k, m in measured.items()}
    gs_read = model.hw_conductances(meas_np)  # the chip as read
    before = {"measured": measured_accuracy(model, meas_np, x160, y160),
              "measured_640": measured_accuracy(model, meas_np, ds.x_test, ds.y_test),
              "errors": float(selection_errors(model, gs_read, ds, noise_std)),
              "selection": selection_loss(model, gs_read, ds, noise_std, logit_scale=logit_scale)}
    fixed: list[Tensor | None] = []
    meas_t: list[Tensor | None] = []
    for name, w in zip(names, model.weights, strict=True):
        if name in measured:
            mm = measured[name]
            fixed.append(model._from_map(np.asarray(~mm.usable, dtype=np.float64), w.detach()) > 0.5)
            meas_t.append(model._from_map(mm.conductance, w.detach()))
        else:
            fixed.append(None)
            meas_t.append(None)
    mid = 0.5 * (wd.g_off + wd.g_on)

    def conductances(gen: torch.Generator | None = None) -> list[Tensor]:
        """The chip the retraining expects: frozen cells as read, kept states as read, changed cells at their
        target; with ``gen`` (and ``outcomes``) each changed cell at a conductance drawn from the outcomes."""
        gs = []
        for w, f, m in zip(model.weights, fixed, meas_t, strict=True):
            g = hard_binarize_ste(w, zeta, wd.g_off, wd.g_on)
            if f is None or m is None:
                gs.append(g)
                continue
            keep = (w > 0) == (m > mid)
            new = g
            if gen is not None and pools:
                drawn = [pl[torch.randint(len(pl), w.shape, generator=gen)].to(w.dtype) for pl in pools]
                new = torch.where(w > 0, drawn[1], drawn[0])
            gs.append(torch.where(f, m, g + (torch.where(keep, m, new) - g).detach()))
        return gs

    def draw(k: int) -> list[Tensor]:
        return conductances(torch.Generator().manual_seed(777 + k))

    x, y = torch.as_tensor(ds.x_train), torch.as_tensor(ds.y_train)
    start = [w.detach().clone() for w in model.weights]
    best: tuple[float, list[Tensor]] | None = None
    runs = 1 + continuations + restarts
    for run in range(runs):
        torch.manual_seed(seed + run)
        gen = torch.Generator().manual_seed(seed + run)
        with torch.no_grad():
            for w, w0 in zip(model.weights, start, strict=True):
                w.copy_(w0 if run <= continuations else torch.randn(w.shape, generator=gen) * float(w0.abs().mean()))
        opt = torch.optim.Adam(model.weights.parameters(), lr=lr)  # cells only: the periphery (bias) stays
        steps = epochs * ((len(x) + 9) // 10)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(steps, 1))
        for epoch in range(epochs):
            model.train()
            perm = torch.randperm(len(x), generator=gen)
            total = 0.0
            for b in range(0, len(x), 10):
                idx = perm[b:b + 10]
                loss = F.cross_entropy(model._run(augment(x[idx], gen), conductances(gen))[0] * logit_scale, y[idx])
                opt.zero_grad()
                loss.backward()  # type: ignore[no-untyped-call]
                opt.step()
                sched.step()
                total += float(loss.detach()) * len(idx)
            if progress is not None:
                progress(run * epochs + epoch + 1, runs * epochs, {"loss": total / len(x)})
        with torch.no_grad():
            sel = selection_loss(model, draw if pools else conductances(), ds, noise_std,
                                 logit_scale=logit_scale, draws=draws)
        if best is None or sel < best[0]:
            best = (sel, [w.detach().clone() for w in model.weights])
    assert best is not None
    with torch.no_grad():
        for w, wb in zip(model.weights, best[1], strict=True):
            w.copy_(wb)
    model.eval()
    # binary targets lie on the window's ends: retarget clips none of them
    out, counts, after_maps = retarget_layers(binary_targets(model), measured, tolerance)
    n_fixed = {name: int((~measured[name].usable).sum()) if name in measured else 0 for name in out}
    after = {"measured": measured_accuracy(model, after_maps, x160, y160),
             "measured_640": measured_accuracy(model, after_maps, ds.x_test, ds.y_test),
             "errors": float(selection_errors(model, model.hw_conductances(after_maps), ds, noise_std)),
             "selection": best[0]}
    return BinaryLoopResult(model, out, before, after, counts, n_fixed)


def recipe_summary(**kw: Any) -> dict[str, Any]:
    """The retraining parameters as stored with a run (defaults of :func:`retrain_letters` filled in)."""
    defaults = {"epochs": 60, "lr": 1e-3, "noise_std": 0.25, "logit_scale": 5.0, "tolerance": 0.25, "seed": 0}
    return defaults | kw
