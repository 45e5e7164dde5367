"""The measured-map loop: measured accuracy, a per-level noise model, and chip-in-the-loop retraining.

* :func:`evaluate` -- software, ideal-crossbar and (given measured maps) measured accuracy of a model.
* :func:`fit_noise_model` -- per layer and per target-conductance level: mean and std of ``measured - target``
  over converged cells, plus the stuck/failed fractions; :meth:`NoiseModel.perturb` samples it in training.
* :func:`chip_in_the_loop` -- keep the measured conductances of the programmed layers (stuck and failed cells
  frozen at what they read), retrain the devices that can still change, and emit new targets with a ``mask``
  of only the cells whose conductance must change by more than ``tolerance`` (fraction of the window).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

from labctl.core.errors import ConfigError
from labctl.core.records import CellStatus
from labctl.train.base import CrossbarModel, accuracy
from labctl.train.measured import MeasuredMap
from labctl.train.mlp import CrossbarMLP, fit_mlp
from labctl.train.targets import TargetMap


def evaluate(
    model: CrossbarModel,
    x: npt.NDArray[np.float32],
    y: npt.NDArray[np.int64],
    measured: dict[str, MeasuredMap] | None = None,
) -> dict[str, float]:
    """Accuracies (0..1): ``software`` (training forward, eval mode), ``ideal_crossbar`` (the targets) and,
    with measured maps, ``measured`` (those layers replaced by their read-back conductances)."""
    model.eval()
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    with torch.no_grad():
        out = {"software": accuracy(model(xt), yt), "ideal_crossbar": accuracy(model.forward_hw(xt), yt)}
        if measured:
            check_layers(model, measured)
            maps = {k: m.conductance for k, m in measured.items()}
            out["measured"] = accuracy(model.forward_hw(xt, maps), yt)
    return out


def check_layers(model: CrossbarModel, measured: dict[str, MeasuredMap]) -> None:
    """Every measured layer must be one of the model's layers."""
    names = model.layer_names()
    for k in measured:
        if k not in names:
            raise ConfigError.invalid("measured layer", k, ", ".join(names))


@dataclass
class LevelStats:
    """Deviation of measured from target conductance at one target level (siemens)."""

    g_target: float
    mean: float
    std: float
    n: int


@dataclass
class NoiseModel:
    """Per-layer, per-level deviation statistics fitted from measured maps (``span`` = window width, S)."""

    span: float
    g_off: float
    layers: dict[str, list[LevelStats]] = field(default_factory=dict)
    stuck_on: dict[str, float] = field(default_factory=dict)
    stuck_off: dict[str, float] = field(default_factory=dict)

    def sigma_at(self, layer: str, g: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], ...]:
        lv = self.layers[layer]
        gt = np.array([s.g_target for s in lv])
        return (np.interp(g, gt, [s.mean for s in lv]), np.interp(g, gt, [s.std for s in lv]))

    def perturb(self, layer: str, p: Tensor) -> Tensor:
        """Sample measured-like devices for normalised conductances ``p`` (training forward only)."""
        if layer not in self.layers:
            return p
        g = self.g_off + self.span * p.detach().double().numpy()
        mu, sd = self.sigma_at(layer, g)
        noise = (mu + sd * np.random.default_rng(int(torch.randint(0, 2**31, (1,)))).standard_normal(g.shape))
        return p + torch.as_tensor(noise / self.span, dtype=p.dtype)

    def to_dict(self) -> dict[str, Any]:
        return {"span": self.span, "g_off": self.g_off,
                "layers": {k: [s.__dict__ for s in v] for k, v in self.layers.items()},
                "stuck_on": self.stuck_on, "stuck_off": self.stuck_off}


def fit_noise_model(
    targets: dict[str, TargetMap], measured: dict[str, MeasuredMap], levels: int = 8
) -> NoiseModel:
    """Fit mean/std of ``measured - target`` in ``levels`` equal bins of target conductance, per layer."""
    if not targets:
        raise ConfigError.invalid("targets", "{}", "at least one layer")
    first = next(iter(targets.values()))
    nm = NoiseModel(span=first.window.span, g_off=first.window.g_off)
    for name, mm in measured.items():
        if name not in targets:
            raise ConfigError.invalid("measured layer", name, ", ".join(targets))
        t = targets[name].targets
        if t.shape != mm.conductance.shape:
            raise ConfigError.invalid(f"{name}.conductance.shape", mm.conductance.shape, f"{t.shape} (targets)")
        ok = mm.where(CellStatus.CONVERGED)
        dev = mm.conductance - t
        edges = np.linspace(first.window.g_off, first.window.g_on, levels + 1)
        stats = []
        for lo, hi in itertools.pairwise(edges):
            sel = ok & (t >= lo) & (t <= hi)
            if sel.sum() >= 2:
                stats.append(LevelStats(float(t[sel].mean()), float(dev[sel].mean()), float(dev[sel].std()),
                                        int(sel.sum())))
        if not stats:
            d = dev[ok] if ok.any() else np.zeros(1)
            stats = [LevelStats(float(t.mean()), float(d.mean()), float(d.std()), int(ok.sum()))]
        nm.layers[name] = stats
        stuck = mm.where(CellStatus.STUCK) | mm.where(CellStatus.FAILED)
        mid = 0.5 * (first.window.g_on + first.window.g_off)
        nm.stuck_on[name] = float((stuck & (mm.conductance >= mid)).mean())
        nm.stuck_off[name] = float((stuck & (mm.conductance < mid)).mean())
    return nm


M = TypeVar("M", bound=CrossbarModel)


@dataclass
class ChipLoopResult(Generic[M]):
    """Outcome of one chip-in-the-loop round: new masked targets, accuracies (0..1) before and predicted after."""

    model: M
    targets: dict[str, TargetMap]
    before: dict[str, float]
    after: dict[str, float]
    cells_to_program: dict[str, int]


def chip_in_the_loop(
    model: CrossbarMLP,
    measured: dict[str, MeasuredMap],
    x: npt.NDArray[np.float32],
    y: npt.NDArray[np.int64],
    *,
    x_test: npt.NDArray[np.float32] | None = None,
    y_test: npt.NDArray[np.int64] | None = None,
    epochs: int = 30,
    lr: float = 2e-3,
    tolerance: float = 0.02,
    noise_model: NoiseModel | None = None,
    seed: int = 0,
    progress: Any = None,
) -> ChipLoopResult[CrossbarMLP]:
    """Retrain around the measured chip; new targets are masked to the cells that must change.

    Stuck and failed cells are frozen at their measured conductance; converged (and pending) cells start from
    their measured conductance and may move. A cell is reprogrammed when its new target differs from what it
    reads by more than ``tolerance * (g_on - g_off)``.
    """
    if not isinstance(model, CrossbarMLP):
        raise ConfigError.invalid("model", type(model).__name__, "CrossbarMLP (device-level parameters)")
    check_layers(model, measured)
    xe, ye = (x_test, y_test) if x_test is not None and y_test is not None else (x, y)
    before = evaluate(model, xe, ye, measured)
    names = model.layer_names()
    with torch.no_grad():
        for k, name in enumerate(names):
            if name in measured:
                mm = measured[name]
                fixed = torch.as_tensor(~mm.usable)
                frozen = torch.stack([fixed[:, 0::2].T, fixed[:, 1::2].T])
                model.frozen[k] = frozen
                # frozen devices keep exactly what they read, even far outside the window (a stuck-ON cell
                # of STANFORD_V1 reads ~1.8 mS); the others start from their reading, clipped to the window
                p_meas = model.from_map(mm.conductance)
                model.p[k].copy_(torch.where(frozen, p_meas, p_meas.clamp(0.0, 1.0)))
    model.noise_model = noise_model
    fit_mlp(model, x, y, epochs=epochs, lr=lr, seed=seed, progress=progress)
    model.noise_model = None
    with torch.no_grad():  # targets inside the window (frozen devices keep their out-of-window readings)
        held = [p.detach().clone() for p in model.p]
        model.clamp_()
        targets = model.target_maps()
        for p, v in zip(model.p, held, strict=True):
            p.copy_(v)
    out_targets, counts, predicted = retarget_layers(targets, measured, tolerance)
    after_maps = {n: MeasuredMap(n, g, measured[n].status, measured[n].read_voltage, measured[n].run_id)
                  for n, g in predicted.items()}
    after = evaluate(model, xe, ye, after_maps)
    model.frozen = [None] * len(model.p)
    return ChipLoopResult(model, out_targets, before, after, counts)


def retarget(tm: TargetMap, mm: MeasuredMap, tolerance: float) -> tuple[TargetMap, npt.NDArray[np.bool_]]:
    """``tm`` masked to the usable cells whose target (clipped into the window) differs from what they read by
    more than ``tolerance * (g_on - g_off)``; every other cell keeps its reading, clipped into the window.
    Returns the new map and its mask."""
    wd = tm.window
    t = np.clip(tm.targets, wd.g_off, wd.g_on)
    mask = mm.usable & (np.abs(t - mm.conductance) > tolerance * wd.span)
    t = np.where(mask, t, np.clip(mm.conductance, wd.g_off, wd.g_on))
    return TargetMap(tm.layer, t, tm.mapping, wd, mask, tm.columns, tm.periphery), mask



def retarget_layers(targets: dict[str, TargetMap], measured: dict[str, MeasuredMap], tolerance: float
                    ) -> tuple[dict[str, TargetMap], dict[str, int], dict[str, npt.NDArray[np.float64]]]:
    """:func:`retarget` on every measured layer (the other layers keep all their cells). Returns the new maps, the
    cells to program per layer and, per measured layer, the conductances predicted once reprogrammed: masked
    cells at their new target, the rest as measured."""
    out: dict[str, TargetMap] = {}
    counts: dict[str, int] = {}
    predicted: dict[str, npt.NDArray[np.float64]] = {}
    for name, tm in targets.items():
        if name not in measured:
            out[name], counts[name] = tm, tm.targets.size
            continue
        mm = measured[name]
        out[name], mask = retarget(tm, mm, tolerance)
        counts[name] = int(mask.sum())
        predicted[name] = np.where(mask, out[name].targets, mm.conductance)
    return out, counts, predicted
