"""``SimBench``: the electrical model behind the simulated instruments.

It holds the SMU channel states, the relay states of every switch matrix, the wiring from the bench config and
the physics crossbars, all on one virtual clock. Instruments are thin faces: they change state and ask the bench
to ``measure`` a channel or ``pulse`` a set of channels; the bench turns relays and source states into per-line
voltages (driven, grounded or floating) and runs the physics. While time passes with sources on, the bench holds
those line voltages on the physics (DC disturb is physical); with everything off the arrays relax (``idle``).
An SMU in compliance folds its voltage back until its current equals the limit, as a real SMU does.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labctl.core.clock import VirtualClock
from labctl.core.config import BenchConfig, Role
from sim_instruments.physics import Crossbar, NonIdealities, RRAMArray

Key = tuple[str, int]  # (instrument name, channel)
Lines = list[float | None]


@dataclass
class SourceChannel:
    """State of one SMU channel."""

    on: bool = False
    level: float = 0.0  # DC source level, V
    limit: float = 1e-4  # current compliance, A
    tripped: bool = False
    last_current: float = 0.0


@dataclass
class MatrixState:
    """Relay state of one switch matrix; ``stuck`` crosspoints never change."""

    closed: set[tuple[int, int]] = field(default_factory=set)
    stuck: set[tuple[int, int]] = field(default_factory=set)

    def set(self, points: list[tuple[int, int]], close: bool) -> bool:
        before = len(self.closed)
        changed = False
        for p in points:
            if p in self.stuck:
                continue
            if close and p not in self.closed:
                self.closed.add(p)
                changed = True
            elif not close and p in self.closed:
                self.closed.discard(p)
                changed = True
        return changed or len(self.closed) != before


def build_crossbars(config: BenchConfig) -> dict[str, Crossbar]:
    """The physics crossbars of a simulated bench config (seed k + i for the i-th crossbar)."""
    from sim_instruments.presets import PRESETS

    sim = config.sim
    if sim is None:
        raise ValueError("not a simulated bench config (no 'sim' section)")
    params = PRESETS[sim.preset.lower()]
    if sim.params:
        params = params.with_(**sim.params)
    ni_kwargs: dict[str, Any] = dict(sim.nonideal)
    if "d2d_fields" in ni_kwargs:
        ni_kwargs["d2d_fields"] = tuple(ni_kwargs["d2d_fields"])
    nonideal = NonIdealities(**ni_kwargs)
    out: dict[str, Crossbar] = {}
    for i, (name, xb) in enumerate(config.crossbars.items()):
        seed = None if sim.seed is None else sim.seed + i
        out[name] = Crossbar(RRAMArray((xb.rows, xb.cols), params, seed=seed, nonideal=nonideal))
    return out


class SimBench:
    """Sources, relays, wiring and physics on one virtual clock. Thread-safe (one lock)."""

    def __init__(self, config: BenchConfig, crossbars: dict[str, Crossbar] | None = None) -> None:
        if config.sim is None:
            raise ValueError("SimBench needs a config with a 'sim' section")
        self.config = config
        self.timing = config.sim.timing
        self.clock = VirtualClock()
        self.lock = threading.RLock()
        self.crossbars = crossbars if crossbars is not None else build_crossbars(config)
        self.sources: dict[Key, SourceChannel] = {}
        self.matrices: dict[str, MatrixState] = {}
        self.armed: dict[Key, tuple[float, float]] = {}  # channels armed on the trigger bus: (peak V, width)
        self.events: list[str] = []
        self.pulses = 0  # pulses applied to the physics (synchronous pulse events)  # physically bad things that happened (two sources shorted, ...)
        for name, inst in config.instruments.items():
            if inst.is_matrix:
                stuck = set(config.sim.faults[name].stuck_relays) if name in config.sim.faults else set()
                self.matrices[name] = MatrixState(stuck=stuck)
            else:
                for ch in (1, 2) if inst.driver == "keysight_b2902" else (1,):
                    self.sources[(name, ch)] = SourceChannel()
        # matrix -> output -> (crossbar, is_row, index); matrix -> input -> source key or None (ground)
        self._outputs: dict[str, dict[int, tuple[str, bool, int]]] = {m: {} for m in self.matrices}
        self._inputs: dict[str, dict[int, Key | None]] = {m: {} for m in self.matrices}
        for xname, xb in config.crossbars.items():
            w = xb.wiring
            for i in range(xb.rows):
                self._outputs[w.matrix][w.rows.first_output + i] = (xname, True, i)
            for j in range(xb.cols):
                self._outputs[w.matrix][w.cols.first_output + j] = (xname, False, j)
            for inp in w.inputs:
                key = None if Role.GROUND in inp.roles or inp.source is None else (inp.source, inp.channel)
                self._inputs[w.matrix][inp.input] = key
        self._synced = {name: 0.0 for name in self.crossbars}
        self._relay_version = 0
        self._feed_cache: dict[str, tuple[int, tuple[list[Any], list[Any]]]] = {}

    # --- time -------------------------------------------------------------------------------------------
    def now(self) -> float:
        return self.clock.now()

    def advance(self, seconds: float) -> None:
        """Let time pass under the present source and relay state."""
        if seconds <= 0:
            return
        with self.lock:
            for name in self.crossbars:
                rows, cols, _ = self.lines(name)
                if _biased(rows, cols):
                    self._catch_up(name)
                    self.crossbars[name].pulse(rows, cols, seconds)
                    self._synced[name] += seconds
            self.clock.advance(seconds)

    def _catch_up(self, name: str) -> None:
        dt = self.clock.now() - self._synced[name]
        if dt > 0:
            self.crossbars[name].idle(dt)
        self._synced[name] = self.clock.now()

    # --- electrical state ------------------------------------------------------------------------------
    def _feeds(self, xname: str) -> tuple[list[Any], list[Any]]:
        """Per row and column line: what its closed relays connect it to (cached until a relay moves).

        Each entry is None (nothing: floating), "gnd", a source key, or a tuple of several of them (a short)."""
        cached = self._feed_cache.get(xname)
        if cached is not None and cached[0] == self._relay_version:
            return cached[1]
        xbar = self.crossbars[xname]
        feeds: list[list[Any]] = [[None] * xbar.shape[0], [None] * xbar.shape[1]]
        for mname, state in self.matrices.items():
            outs, ins = self._outputs[mname], self._inputs[mname]
            for inp, out in sorted(state.closed):
                target = outs.get(out)
                if target is None or target[0] != xname or inp not in ins:
                    continue
                _, is_row, idx = target
                key = ins[inp]
                feed = "gnd" if key is None else key
                arr = feeds[0 if is_row else 1]
                prev = arr[idx]
                arr[idx] = feed if prev is None else (*(prev if isinstance(prev, list) else [prev]), feed)
                if prev is not None:
                    arr[idx] = list(arr[idx])
        result = (feeds[0], feeds[1])
        self._feed_cache[xname] = (self._relay_version, result)
        return result

    def _volts(self, feed: Any, override: dict[Key, float] | None) -> float | None:
        if feed is None:
            return None
        if feed == "gnd":
            return 0.0
        if isinstance(feed, list):  # several inputs on one line: the first live one wins, and it is recorded
            live = [self._volts(f, override) for f in feed]
            driven = [v for v in live if v is not None]
            if len(driven) > 1:
                self.events.append(f"t={self.now():.6f}s: {len(driven)} sources shorted on one line")
            return driven[0] if driven else None
        src = self.sources[feed]
        if not src.on:
            return None
        return override[feed] if override is not None and feed in override else src.level

    def lines(
        self, xname: str, override: dict[Key, float] | None = None
    ) -> tuple[Lines, Lines, dict[Key, list[tuple[bool, int]]]]:
        """Line conditions of crossbar ``xname``: per-line volts (None = floating), and each live source's lines."""
        frows, fcols = self._feeds(xname)
        rows: Lines = [self._volts(f, override) for f in frows]
        cols: Lines = [self._volts(f, override) for f in fcols]
        by_source: dict[Key, list[tuple[bool, int]]] = {}
        for is_row, feeds, volts in ((True, frows, rows), (False, fcols, cols)):
            for idx, f in enumerate(feeds):
                if volts[idx] is None or f is None or f == "gnd":
                    continue
                for k in f if isinstance(f, list) else [f]:
                    if k != "gnd" and self.sources[k].on:
                        by_source.setdefault(k, []).append((is_row, idx))
        return rows, cols, by_source

    def _touched(self, keys: list[Key]) -> list[str]:
        out = []
        for name in self.crossbars:
            _, _, by_source = self.lines(name)
            if any(k in by_source for k in keys):
                out.append(name)
        return out

    def _fold(self, xname: str, levels: dict[Key, float]) -> dict[Key, float]:
        """Fold back every channel whose current would exceed its compliance (bisection on its level)."""
        out = dict(levels)
        for key in out:
            self.sources[key].tripped = False
        for _ in range(4):  # folding one source changes the others' currents: repeat until all are within
            settled = True
            for key in list(out):
                src = self.sources[key]
                if abs(self._static_current(xname, out, key)) <= src.limit * (1 + 1e-9):
                    continue
                settled = False
                src.tripped = True
                lo, hi = 0.0, 1.0
                v = out[key]
                for _ in range(30):
                    mid = 0.5 * (lo + hi)
                    out[key] = v * mid
                    if abs(self._static_current(xname, out, key)) > src.limit:
                        hi = mid
                    else:
                        lo = mid
                out[key] = v * lo
            if settled:
                break
        return out

    def _static_current(self, xname: str, levels: dict[Key, float], key: Key) -> float:
        rows, cols, by_source = self.lines(xname, levels)
        xbar = self.crossbars[xname]
        v = xbar.cell_voltages(rows, cols)
        cur = np.asarray(xbar.array.current(v))
        total = 0.0
        for is_row, idx in by_source.get(key, []):
            total += float(cur[idx, :].sum()) if is_row else -float(cur[:, idx].sum())
        return total

    # --- operations the instruments ask for -------------------------------------------------------------
    def measure(self, key: Key, duration: float | None = None) -> float:
        """Measure the current of channel ``key`` (A, out of its HI terminal) holding the present state."""
        with self.lock:
            src = self.sources[key]
            hold = self.timing.read_duration if duration is None else duration
            if not src.on:
                self.advance(hold)
                src.last_current = 0.0
                return 0.0
            total = 0.0
            touched = self._touched([key])
            for name in touched:
                on = {k: s.level for k, s in self.sources.items() if s.on}
                folded = self._fold(name, {key: on[key]})
                self._catch_up(name)
                rows, cols, by_source = self.lines(name, folded)
                ri, ci = self.crossbars[name].read(rows, cols, hold)
                self._synced[name] += hold
                total += sum(float(ri[i]) if r else float(ci[i]) for r, i in by_source.get(key, []))
            for name in self.crossbars:
                if name not in touched:
                    rows, cols, _ = self.lines(name)
                    if _biased(rows, cols):
                        self._catch_up(name)
                        self.crossbars[name].pulse(rows, cols, hold)
                        self._synced[name] += hold
            self.clock.advance(hold)
            src.last_current = total
            return total

    def pulse(self, peaks: dict[Key, float], width: float) -> dict[Key, float]:
        """Step every listed channel to its peak for ``width`` s at once (other on-sources stay at their
        levels), then back. Returns each listed channel's current at the peak (A)."""
        with self.lock:
            self.pulses += 1
            peaks = {**{k: p for k, (p, _) in self.armed.items()}, **peaks}
            self.armed.clear()
            live = [k for k in peaks if self.sources[k].on]
            currents = {k: 0.0 for k in peaks}
            for name in self.crossbars:
                rows, cols, by_source = self.lines(name)
                mine = {k: peaks[k] for k in live if k in by_source}
                if not mine:
                    if _biased(rows, cols):
                        self._catch_up(name)
                        self.crossbars[name].pulse(rows, cols, width)
                        self._synced[name] += width
                    continue
                folded = self._fold(name, mine)
                for k in mine:
                    currents[k] = self._static_current(name, folded, k)
                self._catch_up(name)
                rows, cols, _ = self.lines(name, folded)
                self.crossbars[name].pulse(rows, cols, width)
                self._synced[name] += width
            self.clock.advance(width)
            for k, c in currents.items():
                self.sources[k].last_current = c
            return currents

    def switch(self, matrix: str, points: list[tuple[int, int]], close: bool) -> bool:
        """Close or open crosspoints (input, output); relays take ``relay_settle`` to operate."""
        with self.lock:
            changed = self.matrices[matrix].set(points, close)
            if changed:
                self._relay_version += 1
                self.advance(self.timing.relay_settle)
            return changed


def _biased(rows: Lines, cols: Lines) -> bool:
    """True when some cell sees a voltage (at least one line driven to a non-zero level)."""
    return any(v for v in rows if v is not None) or any(v for v in cols if v is not None)
