"""Periphery calibration: each amplifier's bias current and gain refit to the chip as read; no cell is reprogrammed.

After a programming the chip's cells are what they read (the offline forward on the read maps agrees with
bench inference to about one test image), and reprogramming a cell can fail again. The periphery of a ``bias=True``
:class:`SoftBinaryNet` is set by the host, not stored in the array: the bias current each amplifier injects into
its summing node (``output.bias``) and a trim of its feedback resistance (``output.gain``, within
[:data:`GAIN_MIN`, :data:`GAIN_MAX`], as a programmable-gain transimpedance stage allows). Refitting only those, with
every cell at its read conductance, recovers part of what faults, wire drops and failed programming cost, with
nothing left to fail: no pulse is sent. As in retraining, the fit sees only training letters (augmented as the
recipe trains them); the deployed periphery stays unless the fit gets fewer of the selection letters wrong (noisy
training letters, never the test images; on a chip that reads as trained a refit only makes the network surer of
what it already gets right, and is not kept).
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
from labctl.train.datasets import Dataset, letters_test160, load_letters
from labctl.train.letters import SoftBinaryNet
from labctl.train.letters_retrain import (
    augmentation,
    gains_on_letters,
    measured_accuracy,
    selection_errors,
    selection_loss,
)

Progress = Callable[[int, int], None]

#: range of the feedback-resistance trim of an amplifier (a programmable-gain stage's span)
GAIN_MIN, GAIN_MAX = 0.25, 4.0


@dataclass(frozen=True)
class PeripheryFit:
    """Outcome of :func:`fit_periphery`: the periphery spec of every layer to use (the deployed one when the fit was
    not kept), the selection losses and errors (of 400 noisy training letters) of the deployed and of the best
    fitted periphery, whether the fit was kept, and (for the report only) the offline test accuracy on the read maps
    with the deployed and with the kept periphery."""

    peripheries: list[dict[str, Any]]
    selection_before: float
    selection_after: float
    errors_before: int
    errors_after: int
    applied: bool
    accuracy_before: float
    accuracy_after: float

    def to_dict(self) -> dict[str, Any]:
        return {"output": [p["output"] for p in self.peripheries], "selection_before": self.selection_before,
                "selection_after": self.selection_after, "errors_before": self.errors_before,
                "errors_after": self.errors_after, "applied": self.applied,
                "accuracy_before": self.accuracy_before, "accuracy_after": self.accuracy_after}


def fit_periphery(model: SoftBinaryNet, maps: dict[str, npt.NDArray[np.float64]], data: Dataset | None = None, *,
                  epochs: int = 40, lr: float = 0.05, seeds: int = 10, repeat: int = 20, batch: int = 32,
                  recipe: dict[str, Any] | None = None, logit_scale: float = 5.0, seed: int = 0,
                  progress: Progress | None = None) -> PeripheryFit:
    """Refit ``model``'s amplifier bias currents and gains (``model.biases``, ``model.amp_gains``: in place, only
    when kept) to the chip whose layers read ``maps`` (crossbar layout, S, every layer of the model); the cells are
    never changed.

    ``seeds`` fits start from the deployed periphery (its gains, 1 where none are set) with other seeds (batches,
    augmentation); the one with the lowest selection loss is kept if it also gets fewer selection letters wrong than
    the deployed periphery. Training letters are repeated ``repeat`` times per epoch and augmented as ``recipe``
    trains (``max_flips`` / ``max_sigma``: mixed flips and pixel noise, else ``flip_p`` + ``noise_std``).
    """
    if not model.bias:
        raise ConfigError.invalid("model.bias", False, "a network with amplifier bias currents (bias=True)")
    names = model.layer_names()
    missing = [n for n in names if n not in maps]
    if missing:
        raise ConfigError.invalid("maps", ", ".join(missing) + " missing", "a read map of every layer: " +
                                  ", ".join(names))
    for name, value in (("epochs", epochs), ("seeds", seeds), ("repeat", repeat), ("batch", batch)):
        if int(value) < 1:
            raise ConfigError.out_of_range(name, value, 1, None)
    if not 0 < lr <= 1:
        raise ConfigError.out_of_range("lr", lr, 0.0, 1.0)
    rc = recipe or {}
    augment = augmentation(rc, float(rc.get("flip_p", 0.0)), float(rc.get("noise_std", 0.25)))
    ds = data or load_letters()
    gs = model.hw_conductances({n: np.asarray(maps[n], dtype=np.float64) for n in names})
    x160, y160 = letters_test160(ds)
    deployed = [b.detach().clone() for b in model.biases]
    deployed_gains = None if model.amp_gains is None else [g.detach().clone() for g in model.amp_gains]
    start = [torch.zeros(len(b)) if deployed_gains is None else torch.log(deployed_gains[k])
             for k, b in enumerate(deployed)]
    log_gains = [lg.clone().requires_grad_(True) for lg in start]

    def gains() -> list[Tensor]:
        # the last layer's gains keep a geometric mean of 1: scaling every logit at once changes no decision, only
        # how sure the loss finds them (the fit would otherwise inflate it to GAIN_MAX)
        logs = [*log_gains[:-1], log_gains[-1] - log_gains[-1].mean()]
        return [torch.exp(lg).clamp(GAIN_MIN, GAIN_MAX) for lg in logs]

    sel_before = selection_loss(model, gs, ds, logit_scale=logit_scale)
    err_before = selection_errors(model, gs, ds)
    acc_before = measured_accuracy(model, maps, x160, y160)
    x = torch.as_tensor(ds.x_train).repeat(repeat, 1)
    y = torch.as_tensor(ds.y_train).repeat(repeat)
    best: tuple[float, list[Tensor], list[Tensor]] | None = None
    for k in range(seeds):
        gen = torch.Generator().manual_seed(seed + k)
        _set(model.biases, deployed)
        _set(log_gains, start)
        opt = torch.optim.Adam([*model.biases.parameters(), *log_gains], lr=lr)  # the cells stay as read
        for epoch in range(epochs):
            model.train()
            perm = torch.randperm(len(x), generator=gen)
            for b in range(0, len(x), batch):
                idx = perm[b:b + batch]
                loss = F.cross_entropy(model._run(augment(x[idx], gen), gs, gains=gains())[0] * logit_scale, y[idx])
                opt.zero_grad()
                loss.backward()  # type: ignore[no-untyped-call]
                opt.step()
            if progress is not None:
                progress(k * epochs + epoch + 1, seeds * epochs)
        model.eval()
        sel = selection_loss(model, gs, ds, logit_scale=logit_scale, gains=[g.detach() for g in gains()])
        if best is None or sel < best[0]:
            best = (sel, [b.detach().clone() for b in model.biases], [g.detach().clone() for g in gains()])
    assert best is not None
    _set(model.biases, best[1])
    err_best = selection_errors(model, gs, ds, gains=best[2])
    applied = gains_on_letters(sel_before, err_before, best[0], err_best)
    _set(model.biases, best[1] if applied else deployed)
    model.amp_gains = best[2] if applied else deployed_gains
    peripheries = [model.periphery(k) for k in range(len(names))]
    return PeripheryFit(peripheries, sel_before, best[0], err_before, err_best, applied, acc_before,
                        measured_accuracy(model, maps, x160, y160))


def _set(params: Any, values: list[Tensor]) -> None:
    with torch.no_grad():
        for b, v in zip(params, values, strict=True):
            b.copy_(v)
