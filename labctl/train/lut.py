"""Device look-up-table training (seed 004, CrossSim's LUT idea) on a differential-pair MLP.

**Data.** A CSV of pulse-train measurements (the simulated bench's ``pulse_train`` protocol via
``benchmarks/pulse_csv.py``, a real bench, or the synthetic generator) with columns ``device,pulse,polarity,
conductance``: one row per pulse, ``polarity`` = ``set`` (conductance up) or ``reset`` (down), ``conductance`` =
siemens read after the pulse, rows in pulse order per device. A sample is (G before the pulse, dG).

**Binning** (per direction, since SET and RESET visit different conductances):

* edges: ``quantile`` (default) = equal-count bins of G before the pulse, so sparsely visited conductances
  (the abrupt SET of STANFORD_V1 is sampled at only two places) do not leave empty bins; ``log`` / ``linear``
  = equal widths in log G / G;
* a bin with fewer than ``min_samples`` pulses is merged into its smaller neighbour until every bin has enough
  (one bin at the least); a direction with fewer than ``min_samples`` pulses in all is an error;
* each bin keeps ``n_points`` quantiles of its dG (an empirical CDF); a G outside the edges uses the end bin;
* per-device tables use the same rules on the device's own pulses; a device direction with fewer than
  ``min_samples`` pulses falls back to the pooled table of that direction.

**Update rule.** Backprop gives the desired change of each pair's weight ``w = p+ - p-`` (``p`` = device
conductance normalised to the window). ``bidirectional``: each device moves its own way, ``|dG| / step`` pulses
(step = the table's mean |dG| in the device's bin, rounded stochastically, at most ``max_pulses``), each
pulse's dG drawn from the table at the device's present G. ``depress`` (for devices whose SET is abrupt and
only RESET is gradual, as the STANFORD_V1 physics): a weight goes up by RESET pulses on ``G-`` and down by
RESET pulses on ``G+``; a device asked to go lower while in the bottom bin triggers a refresh of its pair
(SET pulses on both from the up table, RESET pulses until both are back under the window top, then
closed-loop RESET pulses on whichever device is high until the pair holds the wanted weight within ``tol``),
the scheme of Burr et al. (2015) with the polarities swapped. ``auto`` picks ``depress`` when one SET pulse
from the lower half of the range moves a device by more than half the range on median.
The window: ``bidirectional``: 1-99 % quantiles of all G; ``depress``: ``depress_window`` quantiles of the
G after RESET pulses (the gradual region).

**Modes.** ``numeric`` applies the exact update (ideal devices), ``standard`` uses the pooled table for every
device, ``multi`` assigns each device one of the per-device tables at random (device-to-device variation).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
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
SCHEMES = ("auto", "bidirectional", "depress")
BINNINGS = ("quantile", "log", "linear")
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class DeviceLUT:
    """Per-bin quantiles of the conductance change per pulse (siemens) for SET (up) and RESET (down); bin ``i``
    of a direction covers ``[edges[i], edges[i+1])`` of the conductance before the pulse."""

    g_min: float  # the training window
    g_max: float
    up: F64  # (n_up_bins, n_points)
    down: F64  # (n_down_bins, n_points)
    name: str = ""
    up_edges: F64 = field(default_factory=lambda: np.zeros(0))
    down_edges: F64 = field(default_factory=lambda: np.zeros(0))
    counts: tuple[int, int] = (0, 0)  # pulses behind the up / down tables

    def __post_init__(self) -> None:
        for name, tab in (("up", self.up), ("down", self.down)):
            edges = getattr(self, f"{name}_edges")
            if not len(edges):  # equal bins over the window (tables built by hand)
                object.__setattr__(self, f"{name}_edges", np.linspace(self.g_min, self.g_max, tab.shape[0] + 1))
            elif len(edges) != tab.shape[0] + 1:
                raise ConfigError.invalid(f"{name}_edges", len(edges), f"{tab.shape[0] + 1} (bins + 1)")

    @property
    def span(self) -> float:
        return self.g_max - self.g_min

    def bin_of(self, g: F64, up: bool) -> npt.NDArray[np.int64]:
        return _bin_index(self.up_edges if up else self.down_edges, g)

    def step_at(self, g: F64, up: bool) -> F64:
        """Mean |dG| of one pulse at conductance ``g`` (the bin's mean)."""
        table = self.up if up else self.down
        return np.asarray(np.abs(table.mean(axis=1))[self.bin_of(g, up)], dtype=np.float64)

    def sample(self, g: F64, up: bool, rng: np.random.Generator) -> F64:
        """One pulse's conductance change for each device at conductance ``g``."""
        table = self.up if up else self.down
        q = rng.integers(0, table.shape[1], size=g.shape)
        return np.asarray(table[self.bin_of(g, up), q], dtype=np.float64)

    def abrupt_set(self) -> bool:
        """SET pulses from the lower half of the window that move a device at all (> 1 % of the window) move it
        by more than half the window (median): the SET is abrupt, only RESET is gradual."""
        lo = self.up_edges[:-1] < self.g_min + 0.5 * self.span
        steps = self.up[lo].ravel()
        moved = steps[steps > 0.01 * self.span]
        return bool(len(moved) and np.median(moved) > 0.5 * self.span)

    def at_floor(self, g: F64, floor_step: float) -> npt.NDArray[np.bool_]:
        """Devices that one more RESET pulse cannot move: the bottom bin, or a bin whose mean |dG| is below
        ``floor_step`` (fraction of the window)."""
        b = self.bin_of(g, False)
        return np.asarray((b == 0) | (np.abs(self.down.mean(axis=1))[b] < floor_step * self.span))


def _bin_index(edges: F64, g: F64) -> npt.NDArray[np.int64]:
    """Bin of each ``g`` (bin ``i`` = ``[edges[i], edges[i+1])``; outside the edges: the end bin)."""
    return np.clip(np.searchsorted(edges, g, side="right") - 1, 0, len(edges) - 2).astype(np.int64)


def _edges(g: F64, n_bins: int, binning: str) -> F64:
    lo, hi = float(g.min()), float(g.max())
    if binning == "quantile":
        e = np.quantile(g, np.linspace(0, 1, n_bins + 1))
    elif binning == "log":
        e = np.geomspace(max(lo, 1e-15), max(hi, 2e-15), n_bins + 1)
    else:
        e = np.linspace(lo, hi, n_bins + 1)
    e = np.unique(e)
    return e if len(e) >= 2 else np.array([lo, lo + max(abs(lo), 1e-12)])


def _bin_table(g: F64, dg: F64, n_bins: int, n_points: int, binning: str, min_samples: int,
               what: str) -> tuple[F64, F64]:
    """(edges, table) for one direction; sparse bins merged (see the module docstring)."""
    if len(g) < min_samples:
        raise ConfigError.invalid(f"pulse CSV ({what})", f"{len(g)} pulses", f">= {min_samples} pulses (min_samples)")
    edges = _edges(g, n_bins, binning)
    while True:
        nb = len(edges) - 1
        b = _bin_index(edges, g)
        cnt = np.bincount(b, minlength=nb)
        if nb == 1 or cnt.min() >= min_samples:
            break
        i = int(np.argmin(cnt))  # merge the sparsest bin into its smaller neighbour (drop the shared edge)
        j = i - 1 if i == nb - 1 or (i > 0 and cnt[i - 1] <= cnt[i + 1]) else i + 1
        edges = np.delete(edges, max(i, j))
    qs = np.linspace(0, 1, n_points)
    table = np.stack([np.quantile(dg[b == i], qs) for i in range(len(edges) - 1)])
    return edges, table


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


def build_luts_from_csv(
    path: str | Path,
    n_bins: int = 50,
    n_points: int = 64,
    *,
    binning: str = "quantile",
    min_samples: int = 8,
    scheme: str = "auto",
    depress_window: tuple[float, float] = (0.02, 0.8),
) -> tuple[DeviceLUT, list[DeviceLUT]]:
    """(pooled table, one table per device) from a pulse-response CSV; all share one training window."""
    if binning not in BINNINGS:
        raise ConfigError.invalid("binning", binning, ", ".join(BINNINGS))
    if scheme not in SCHEMES:
        raise ConfigError.invalid("scheme", scheme, ", ".join(SCHEMES))
    if min_samples < 1:
        raise ConfigError.out_of_range("min_samples", min_samples, 1, None)
    if not 0.0 <= depress_window[0] < depress_window[1] <= 1.0:
        raise ConfigError.invalid("depress_window", depress_window, "quantiles 0 <= lo < hi <= 1")
    per: list[tuple[str, F64, F64, npt.NDArray[np.bool_]]] = []
    for dev, seq in read_pulse_csv(path).items():
        g = np.array([x[1] for x in seq])
        s = np.array([x[0] for x in seq])
        per.append((dev, g[:-1], np.diff(g), s[1:]))
    if not per:
        raise ConfigError.invalid("pulse CSV", str(path), "at least one device with pulses")
    g0 = np.concatenate([p[1] for p in per])
    dg = np.concatenate([p[2] for p in per])
    up = np.concatenate([p[3] for p in per])
    def table(g: F64, d: F64, what: str) -> tuple[F64, F64]:
        return _bin_table(g, d, n_bins, n_points, binning, min_samples, what)

    ue, ut = table(g0[up], dg[up], "set")
    de, dt = table(g0[~up], dg[~up], "reset")
    g_after = g0 + dg
    probe = DeviceLUT(float(np.quantile(g_after, 0.01)), float(np.quantile(g_after, 0.99)), ut, dt, "pooled",
                      ue, de)
    if scheme == "depress" or (scheme == "auto" and probe.abrupt_set()):
        lo, hi = np.quantile(g_after[~up], depress_window)
    else:
        lo, hi = probe.g_min, probe.g_max
    pooled = DeviceLUT(float(lo), float(hi), ut, dt, "pooled", ue, de, (int(up.sum()), int((~up).sum())))
    devices = []
    for dev, g, d, s in per:
        tabs: list[tuple[F64, F64]] = []
        for direction, (pe, pt) in ((True, (ue, ut)), (False, (de, dt))):
            sel = s if direction else ~s
            if sel.sum() >= min_samples:
                tabs.append(table(g[sel], d[sel], f"{dev} {'set' if direction else 'reset'}"))
            else:
                tabs.append((pe, pt))  # fallback: the pooled table
        devices.append(DeviceLUT(pooled.g_min, pooled.g_max, tabs[0][1], tabs[1][1], dev, tabs[0][0], tabs[1][0],
                                 (int(s.sum()), int((~s).sum()))))
    return pooled, devices


@dataclass
class LUTResult:
    model: CrossbarMLP
    mode: str
    test_acc: float
    val_acc: float
    history: list[float]
    scheme: str = "numeric"
    refreshes: int = 0


def train_lut(
    data: Any,
    pooled: DeviceLUT | None = None,
    devices: list[DeviceLUT] | None = None,
    *,
    mode: str = "standard",
    scheme: str = "auto",
    hidden: int = 16,
    epochs: int = 80,
    lr: float = 0.1,
    batch: int = 8,
    max_pulses: int = 8,
    tol: float = 0.02,
    select: str = "val_acc",
    seed: int = 0,
    progress: Any = None,
) -> LUTResult:
    """Train a ``features-hidden-classes`` MLP whose updates are LUT pulses; the epoch with the best validation
    accuracy (``select="val_acc"``, ties by lower validation loss) or the lowest validation loss (``"val_loss"``)
    is kept (seed 004 uses a 40/30/30 split)."""
    if select not in ("val_acc", "val_loss"):
        raise ConfigError.invalid("select", select, "val_acc, val_loss")
    if mode not in MODES:
        raise ConfigError.invalid("mode", mode, ", ".join(MODES))
    if scheme not in SCHEMES:
        raise ConfigError.invalid("scheme", scheme, ", ".join(SCHEMES))
    if mode != "numeric" and pooled is None:
        raise ConfigError.invalid("pooled", None, "a DeviceLUT for standard/multi modes")
    if mode == "multi" and not devices:
        raise ConfigError.invalid("devices", devices, "per-device tables for multi mode")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    g_lo, g_hi = (pooled.g_min, pooled.g_max) if pooled is not None else (1e-6, 1e-4)
    if scheme == "auto":
        scheme = "depress" if pooled is not None and pooled.abrupt_set() else "bidirectional"
    model = CrossbarMLP((data.n_features, hidden, data.n_classes), g_off=g_lo, g_on=g_hi)
    tables: list[DeviceLUT] = devices if mode == "multi" and devices else [pooled] if pooled is not None else []
    upd = _Updater(tables, g_lo, g_hi, scheme, max_pulses, tol, rng) if mode != "numeric" and tables else None
    assign = [rng.integers(0, len(tables), size=p.shape) for p in model.p]
    xt, yt = torch.as_tensor(data.x_train), torch.as_tensor(data.y_train)
    xv, yv = torch.as_tensor(data.x_val), torch.as_tensor(data.y_val)
    best, best_key, best_state, hist = -1.0, (-np.inf, -np.inf), None, []
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
                    cur = p.detach().double().numpy()
                    new = cur + want if upd is None else upd.apply(cur, want, assign[k])
                    p.copy_(torch.as_tensor(np.clip(new, 0.0, 1.0), dtype=p.dtype))
        model.eval()
        with torch.no_grad():
            out_v = model(xv)
            va, neg_loss = accuracy(out_v, yv), -float(F.cross_entropy(out_v, yv))
            key = (va, neg_loss) if select == "val_acc" else (neg_loss, va)
        hist.append(va)
        if key > best_key:
            best, best_key, best_state = va, key, {k: v.clone() for k, v in model.state_dict().items()}
        if progress is not None:
            progress(epoch + 1, epochs, {"val_acc": va})
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    with torch.no_grad():
        te = accuracy(model(torch.as_tensor(data.x_test)), torch.as_tensor(data.y_test))
    return LUTResult(model, mode, te, best, hist, scheme if upd is not None else "numeric",
                     upd.refreshes if upd is not None else 0)


class _Updater:
    """Pulse-level updates of device pairs ``p`` (shape ``(2, out, in)``, normalised to the window)."""

    def __init__(self, tables: list[DeviceLUT], g_lo: float, g_hi: float, scheme: str, max_pulses: int,
                 tol: float, rng: np.random.Generator) -> None:
        self.tables, self.g_lo, self.g_hi, self.span = tables, g_lo, g_hi, g_hi - g_lo
        self.scheme, self.max_pulses, self.tol, self.rng = scheme, max_pulses, tol, rng
        self.refreshes = 0
        self.floor_step = 1e-3

    def _pulse(self, g: F64, which: npt.NDArray[np.int64], sel: npt.NDArray[np.bool_], up: bool) -> None:
        """One pulse (from each device's table) on the devices ``sel``, in place."""
        for t, lut in enumerate(self.tables):
            s = sel & (which == t)
            if s.any():
                g[s] = np.maximum(g[s] + lut.sample(g[s], up, self.rng), 0.0)

    def _floor(self, g: F64, which: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        out = np.zeros(g.shape, dtype=bool)
        for t, lut in enumerate(self.tables):
            s = which == t
            out[s] = lut.at_floor(g[s], self.floor_step)
        return out

    def _n_pulses(self, g: F64, which: npt.NDArray[np.int64], dg: F64, up: bool) -> npt.NDArray[np.int64]:
        step = np.ones_like(g)
        for t, lut in enumerate(self.tables):
            s = which == t
            step[s] = lut.step_at(g[s], up)
        x = np.abs(dg) / np.maximum(step, self.floor_step * self.span)
        n = np.minimum(np.floor(x) + (self.rng.random(x.shape) < x - np.floor(x)), self.max_pulses)
        return np.asarray(n, dtype=np.int64)

    def apply(self, p: F64, want: F64, which: npt.NDArray[np.int64]) -> F64:
        g = self.g_lo + self.span * p
        if self.scheme == "bidirectional":
            up = want > 0
            n = np.where(up, self._n_pulses(g, which, want * self.span, True),
                         self._n_pulses(g, which, want * self.span, False))
            for step in range(int(n.max(initial=0))):
                act = n > step
                self._pulse(g, which, act & up, True)
                self._pulse(g, which, act & ~up, False)
            g = np.clip(g, self.g_lo, self.g_hi)
        else:
            g = self._depress(g, want, which)
        return np.asarray((g - self.g_lo) / self.span, dtype=np.float64)

    def _depress(self, g: F64, want: F64, which: npt.NDArray[np.int64]) -> F64:
        dw = want[0] - want[1]  # wanted weight change; w up -> depress G-, w down -> depress G+
        hit = np.stack([dw < 0, dw > 0])
        n = np.where(hit, self._n_pulses(g, which, np.stack([dw, dw]) * self.span, False), 0)
        floor = self._floor(g, which)
        # pairs whose device to depress cannot go lower: refresh them
        stuck = np.asarray((hit & (n > 0) & floor).any(axis=0), dtype=bool)
        n[:, stuck] = 0
        for step in range(int(n.max(initial=0))):
            self._pulse(g, which, n > step, False)
        if stuck.any():
            target = (g[0] - g[1]) / self.span + dw
            self._refresh(g, which, stuck, target)
        return np.clip(g, self.g_lo, None)

    def _refresh(self, g: F64, which: npt.NDArray[np.int64], pairs: npt.NDArray[np.bool_], target: F64) -> None:
        """SET both devices of ``pairs``, RESET both under the window top, then closed-loop RESETs on the higher
        side until the pair holds ``target`` (weight units) within ``tol`` (or its low device is at the floor)."""
        self.refreshes += int(pairs.sum())
        both = np.stack([pairs, pairs])
        for _ in range(20):  # SET (a stepped SET may need a few pulses) until above the window top
            low = both & (g <= self.g_hi)
            if not low.any():
                break
            self._pulse(g, which, low, True)
        for _ in range(200):
            high = both & (g > self.g_hi)
            if not high.any():
                break
            self._pulse(g, which, high, False)
        todo = pairs.copy()
        for _ in range(200):
            err = (g[0] - g[1]) / self.span - target
            todo &= np.abs(err) > self.tol
            down = np.stack([todo & (err > 0), todo & (err < 0)])
            todo &= ~(down & self._floor(g, which)).any(axis=0)
            down &= np.stack([todo, todo])
            if not down.any():
                break
            self._pulse(g, which, down, False)


#: The default pulse-response data: the simulated bench's ``pulse_train`` run (``benchmarks/pulse_csv.py``).
BENCH_CSV = Path(__file__).parent / "data" / "pulse_responses_bench.csv"


def lut_accuracies(data: Any, csv_path: str | Path = BENCH_CSV, seeds: tuple[int, ...] = (0, 1, 2, 3, 4),
                   epochs: int = 80, **kw: Any) -> dict[str, list[float]]:
    """Test accuracy per mode (numeric, standard, multi) for each training seed, tables from ``csv_path``."""
    pooled, devices = build_luts_from_csv(csv_path)
    return {m: [train_lut(data, pooled, devices, mode=m, epochs=epochs, seed=s, **kw).test_acc for s in seeds]
            for m in MODES}
