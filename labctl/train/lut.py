"""Device look-up-table training (seed 004, CrossSim v2.0's LUT idea) on a differential-pair MLP.

Tables come from pulse-train measurements in a CSV (any source: the simulated bench, a real bench, or
``bench/pulse_csv.py``'s synthetic generator) with columns ``device,pulse,polarity,conductance``: one row per
pulse, ``polarity`` = ``set`` (conductance up) or ``reset`` (down), ``conductance`` = siemens read after the
pulse, rows in pulse order per device. For each device the conductance range is binned (``n_bins``); each bin
keeps ``n_points`` quantiles of the measured change per pulse for SET and for RESET (an empirical CDF; empty
bins copy the nearest filled one).

Training: backprop gives the desired device change; it becomes ``|dG| / mean step`` pulses, rounded
stochastically (at most ``max_pulses``), each pulse's change drawn from the table at the device's present
conductance. ``numeric`` applies the exact update (ideal devices), ``standard`` uses one table (the pooled
devices), ``multi`` assigns each cell one of the per-device tables at random at the start (device-to-device variation).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch.nn import functional as F

from labctl.core.errors import ConfigError
from labctl.train.base import accuracy
from labctl.train.mlp import CrossbarMLP

MODES = ("numeric", "standard", "multi")


@dataclass(frozen=True)
class DeviceLUT:
    """Per-bin quantiles of the conductance change per pulse (siemens), for SET (up) and RESET (down)."""

    g_min: float
    g_max: float
    up: npt.NDArray[np.float64]  # (n_bins, n_points)
    down: npt.NDArray[np.float64]  # (n_bins, n_points)
    name: str = ""

    @property
    def n_bins(self) -> int:
        return int(self.up.shape[0])

    def mean_step(self) -> float:
        return float(0.5 * (np.abs(self.up).mean() + np.abs(self.down).mean()))

    def sample(self, g: npt.NDArray[np.float64], up: bool, rng: np.random.Generator) -> npt.NDArray[np.float64]:
        """One pulse's conductance change for each device at conductance ``g``."""
        b = np.clip(((g - self.g_min) / (self.g_max - self.g_min) * self.n_bins).astype(int), 0, self.n_bins - 1)
        table = self.up if up else self.down
        q = rng.integers(0, table.shape[1], size=g.shape)
        return np.asarray(table[b, q], dtype=np.float64)


def _table(g: npt.NDArray[np.float64], dg: npt.NDArray[np.float64], edges: npt.NDArray[np.float64],
           n_points: int) -> npt.NDArray[np.float64]:
    nb = len(edges) - 1
    out = np.full((nb, n_points), np.nan)
    b = np.clip(np.searchsorted(edges, g, side="right") - 1, 0, nb - 1)
    qs = np.linspace(0, 1, n_points)
    for i in range(nb):
        sel = dg[b == i]
        if len(sel) >= 3:
            out[i] = np.quantile(sel, qs)
    filled = np.flatnonzero(~np.isnan(out[:, 0]))
    if not len(filled):
        raise ConfigError.invalid("pulse CSV", "no bin with >= 3 pulses", "enough pulses per direction")
    for i in range(nb):
        if np.isnan(out[i, 0]):
            out[i] = out[filled[np.argmin(np.abs(filled - i))]]
    return out


def read_pulse_csv(path: str | Path) -> dict[str, list[tuple[bool, float]]]:
    """device -> [(is_set, conductance after pulse), ...] in pulse order."""
    rows: dict[str, list[tuple[int, bool, float]]] = {}
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        need = {"device", "pulse", "polarity", "conductance"}
        if reader.fieldnames is None or not need <= set(reader.fieldnames):
            raise ConfigError.invalid("pulse CSV columns", reader.fieldnames, ", ".join(sorted(need)))
        for r in reader:
            pol = r["polarity"].strip().lower()
            if pol not in ("set", "reset", "+1", "-1", "1"):
                raise ConfigError.invalid("polarity", pol, "set, reset, +1, -1")
            rows.setdefault(r["device"], []).append((int(r["pulse"]), pol in ("set", "+1", "1"),
                                                     float(r["conductance"])))
    return {d: [(s, g) for _, s, g in sorted(v)] for d, v in rows.items()}


def build_luts_from_csv(path: str | Path, n_bins: int = 50, n_points: int = 64) -> tuple[DeviceLUT, list[DeviceLUT]]:
    """(pooled table, one table per device) from a pulse-response CSV; all share the common G range."""
    data = read_pulse_csv(path)
    per: list[tuple[str, npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.bool_]]] = []
    for dev, seq in data.items():
        g = np.array([x[1] for x in seq])
        s = np.array([x[0] for x in seq])
        per.append((dev, g[:-1], np.diff(g), s[1:]))
    g_all = np.concatenate([p[1] for p in per])
    g_min, g_max = float(np.quantile(g_all, 0.01)), float(np.quantile(g_all, 0.99))
    edges = np.linspace(g_min, g_max, n_bins + 1)

    def lut(items: list[Any], name: str) -> DeviceLUT:
        g0 = np.concatenate([p[1] for p in items])
        dg = np.concatenate([p[2] for p in items])
        up = np.concatenate([p[3] for p in items])
        return DeviceLUT(g_min, g_max, _table(g0[up], dg[up], edges, n_points),
                         _table(g0[~up], dg[~up], edges, n_points), name)

    return lut(per, "pooled"), [lut([p], p[0]) for p in per]


@dataclass
class LUTResult:
    model: CrossbarMLP
    mode: str
    test_acc: float
    val_acc: float
    history: list[float]


def train_lut(
    data: Any,
    pooled: DeviceLUT | None = None,
    devices: list[DeviceLUT] | None = None,
    *,
    mode: str = "standard",
    hidden: int = 16,
    epochs: int = 80,
    lr: float = 0.1,
    batch: int = 8,
    max_pulses: int = 8,
    seed: int = 0,
    progress: Any = None,
) -> LUTResult:
    """Train a ``features-hidden-classes`` MLP whose updates are LUT pulses; the epoch with the best validation
    accuracy is kept (seed 004 uses a 40/30/30 split)."""
    if mode not in MODES:
        raise ConfigError.invalid("mode", mode, ", ".join(MODES))
    if mode != "numeric" and pooled is None:
        raise ConfigError.invalid("pooled", None, "a DeviceLUT for standard/multi modes")
    if mode == "multi" and not devices:
        raise ConfigError.invalid("devices", devices, "per-device tables for multi mode")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    g_lo, g_hi = (pooled.g_min, pooled.g_max) if pooled is not None else (1e-6, 1e-4)
    model = CrossbarMLP((data.n_features, hidden, data.n_classes), g_off=g_lo, g_on=g_hi)
    span = g_hi - g_lo
    assign = [rng.integers(0, len(devices), size=p.shape) for p in model.p] if mode == "multi" and devices else []
    xt, yt = torch.as_tensor(data.x_train), torch.as_tensor(data.y_train)
    xv, yv = torch.as_tensor(data.x_val), torch.as_tensor(data.y_val)
    best, best_state, hist = -1.0, None, []
    for epoch in range(epochs):
        model.train()
        perm = rng.permutation(len(xt))
        for i in range(0, len(xt), batch):
            idx = torch.as_tensor(perm[i:i + batch])
            model.zero_grad()
            F.cross_entropy(model(xt[idx]), yt[idx]).backward()  # type: ignore[no-untyped-call]
            with torch.no_grad():
                for k, p in enumerate(model.p):
                    assert p.grad is not None
                    want = (-lr * p.grad).double().numpy()
                    if mode == "numeric":
                        new = p.detach().double().numpy() + want
                    else:
                        new = _apply_pulses(p.detach().double().numpy(), want, span, g_lo,
                                            pooled, devices, assign[k] if assign else None, max_pulses, rng)
                    p.copy_(torch.as_tensor(np.clip(new, 0.0, 1.0), dtype=p.dtype))
        model.eval()
        with torch.no_grad():
            va = accuracy(model(xv), yv)
        hist.append(va)
        if va > best:
            best, best_state = va, {k: v.clone() for k, v in model.state_dict().items()}
        if progress is not None:
            progress(epoch + 1, epochs, {"val_acc": va})
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    with torch.no_grad():
        te = accuracy(model(torch.as_tensor(data.x_test)), torch.as_tensor(data.y_test))
    return LUTResult(model, mode, te, best, hist)


def _apply_pulses(p: npt.NDArray[np.float64], want: npt.NDArray[np.float64], span: float, g_lo: float,
                  pooled: DeviceLUT | None, devices: list[DeviceLUT] | None,
                  assign: npt.NDArray[np.int64] | None, max_pulses: int,
                  rng: np.random.Generator) -> npt.NDArray[np.float64]:
    assert pooled is not None
    g = g_lo + span * p
    x = np.abs(want) * span / pooled.mean_step()
    n = np.minimum(np.floor(x) + (rng.random(x.shape) < x - np.floor(x)), max_pulses).astype(int)  # stochastic
    up = want > 0
    tables = [pooled] if assign is None or not devices else devices
    which = np.zeros(p.shape, dtype=int) if assign is None else assign
    for step in range(int(n.max(initial=0))):
        act = n > step
        for t_idx, lut in enumerate(tables):
            for direction in (True, False):
                sel = act & (up == direction) & (which == t_idx)
                if sel.any():
                    g[sel] = np.clip(g[sel] + lut.sample(g[sel], direction, rng), lut.g_min, lut.g_max)
    return np.asarray((g - g_lo) / span, dtype=np.float64)
