"""``SimBench``: the electrical model behind the simulated instruments.

It holds the SMU channel states, the relay states of every switch matrix, the wiring from the bench config and
the physics crossbars, all on one virtual clock. Instruments are thin faces: they change state and ask the bench
to ``measure`` a channel or ``pulse`` a set of channels; the bench turns relays and source states into per-line
voltages (driven, grounded or floating) and runs the physics. While time passes with sources on, the bench holds
those line voltages on the physics (DC disturb is physical); with everything off the arrays relax (``idle``).
An SMU in compliance folds its voltage back until its current equals the limit, as a real SMU does.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labctl.core.clock import VirtualClock
from labctl.core.config import SMU_CHANNELS, BenchConfig, Role
from sim_instruments.physics import (
    Crossbar,
    NonIdealities,
    RRAMArray,
    Trapezoid,
    apply_shaped_pulse,
    loaded_levels,
    warm_up_integrator,
)

Key = tuple[str, int]  # (instrument name, channel)
GENERATOR_DRIVERS = ("keysight_33500b",)
GENERATOR_R_OUT = 50.0  # ohm: a function generator's output resistance
Lines = list[float | None]
IntArray = np.ndarray[Any, Any]
LinesResult = tuple[Lines, Lines, dict[Key, tuple[IntArray, IntArray]]]


@dataclass
class SourceChannel:
    """State of one SMU channel."""

    on: bool = False
    level: float = 0.0  # DC source level, V
    limit: float = 1e-4  # current compliance, A
    tripped: bool = False
    last_current: float = 0.0
    last_voltage: float = 0.0  # output voltage at the last reading, V (below the level when in compliance)


@dataclass
class MatrixState:
    """Relay state of one switch matrix; ``stuck`` crosspoints never change."""

    closed: set[tuple[int, int]] = field(default_factory=set)
    stuck: set[tuple[int, int]] = field(default_factory=set)
    grounded: set[int] = field(default_factory=set)  # inputs the instrument ties to ground itself
    connect_rule: int = 1  # 707B channel.connectrule: 1 break before make, 2 make before break, 0 off (simultaneous)
    sequential: bool = False  # 707B channel.connectsequential: closures one at a time

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
    from sim_instruments.check import check_sim
    from sim_instruments.presets import PRESETS

    sim = config.sim
    if sim is None:
        raise ValueError("not a simulated bench config (no 'sim' section)")
    check_sim(config, f"bench {config.name!r}")
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
        wires = sim.wires[name].model_dump() if name in sim.wires else {}
        out[name] = Crossbar(RRAMArray((xb.rows, xb.cols), params, seed=seed, nonideal=nonideal), **wires)
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
        warm_up_integrator()  # compiled (or loaded from numba's cache) before any instrument is served
        self.sources: dict[Key, SourceChannel] = {}
        self.matrices: dict[str, MatrixState] = {}
        self.armed: dict[Key, tuple[float, float]] = {}  # channels armed on the trigger bus: (peak V, width)
        self.tsp_channels: dict[Key, Any] = {}  # TSP SMU channels, shared by their instrument and its TSP-Link peers
        self.tsp_pending: list[Any] = []  # overlapped measurements started and not yet converted
        self.events: list[str] = []  # physically bad things that happened (two sources shorted, ...)
        self.pulses = 0  # pulses applied to the physics (synchronous pulse events)
        self._settled_at: dict[str, float] = {}  # per matrix: virtual time its last relay step has settled
        self._relays_until = 0.0  # the latest of them
        self.r_out: dict[Key, float] = {}  # output resistance of generator channels, ohm
        for name, inst in config.instruments.items():
            if inst.is_matrix:
                stuck = set(config.sim.faults[name].stuck_relays) if name in config.sim.faults else set()
                self.matrices[name] = MatrixState(stuck=stuck)
            elif inst.driver in GENERATOR_DRIVERS:  # no compliance: a 50 ohm output bounds the current
                for ch in (1, 2):
                    self.sources[(name, ch)] = SourceChannel(limit=math.inf)
                    self.r_out[(name, ch)] = GENERATOR_R_OUT
            else:
                for ch in range(1, SMU_CHANNELS.get(inst.driver, 1) + 1):
                    self.sources[(name, ch)] = SourceChannel()
        # matrix -> output -> (crossbar, is_row, index); matrix -> input -> source key or None (ground)
        self._outputs: dict[str, dict[int, tuple[str, bool, int]]] = {m: {} for m in self.matrices}
        self._inputs: dict[str, dict[int, Key | None]] = {m: {} for m in self.matrices}
        for xname, xb in config.crossbars.items():
            w = xb.wiring
            frames = [(m, config.instruments[m].outputs) for m in w.matrices]
            lines = [(w.rows.first_output + i, True, i) for i in range(xb.rows)]
            lines += [(w.cols.first_output + j, False, j) for j in range(xb.cols)]
            for out, is_row, idx in lines:  # mainframes number their outputs on, in list order
                for m, n in frames:
                    if out <= n:
                        self._outputs[m][out] = (xname, is_row, idx)
                        break
                    out -= n
            for inp in w.inputs:  # every input feeds the same input of each mainframe
                key = None if Role.GROUND in inp.roles or inp.source is None else (inp.source, inp.channel)
                for m, _ in frames:
                    self._inputs[m][inp.input] = key
        self._synced = {name: 0.0 for name in self.crossbars}
        self._relay_version = 0
        self._feed_cache: dict[str, tuple[int, tuple[list[Any], list[Any]]]] = {}
        self._code_cache: dict[str, tuple[int, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]] = {}
        self._lines_cache: dict[tuple[Any, ...], LinesResult] = {}
        self._source_cache: dict[tuple[Any, ...], dict[Key, tuple[IntArray, IntArray]]] = {}
        self._limits_key: dict[str, tuple[int, tuple[float, ...]]] = {}
        self._keys: list[Key] = list(self.sources)
        self._src_list = [self.sources[k] for k in self._keys]
        self._index = {k: i for i, k in enumerate(self._keys)}

    # --- time -------------------------------------------------------------------------------------------
    def now(self) -> float:
        """The virtual time, s, once every relay step so far has settled."""
        self.wait_relays()
        return self.clock.now()

    def advance(self, seconds: float, *, relays: bool = True) -> None:
        """Let time pass under the present source and relay state, after the relays have settled (``relays``
        False: a matrix's own message, read while the relays of other matrices still settle)."""
        if relays and self._relays_until > self.clock.now():
            self.wait_relays()
        if seconds <= 0:
            return
        with self.lock:
            for s in self._src_list:  # a loop, not any(...): this runs on every instrument message
                if s.on:
                    break
            else:  # every source off, nothing biased: the arrays catch up (idle) when next used
                self.clock.advance(seconds)
                return
            for name in self.crossbars:
                rows, cols, _ = self.lines(name)
                if _biased(rows, cols):
                    self._catch_up(name)
                    self._limit_lines(name)
                    self.crossbars[name].pulse(rows, cols, seconds)
                    self._synced[name] += seconds
            self.clock.advance(seconds)

    def _catch_up(self, name: str) -> None:
        dt = self.clock.now() - self._synced[name]
        if dt > 0:
            self.crossbars[name].idle(dt)
        self._synced[name] = self.clock.now()

    def get_state(self) -> dict[str, Any]:
        """The physics of every crossbar and the virtual clock (sources and relays are left out: a restored bench
        starts in its safe state, outputs off and relays open)."""
        with self.lock:
            return {"clock": self.clock.now(), "synced": dict(self._synced),
                    "arrays": {n: xb.array.get_state() for n, xb in self.crossbars.items()}}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`get_state` of a bench built from the same config."""
        with self.lock:
            if set(state["arrays"]) != set(self.crossbars):
                raise ValueError(f"state crossbars = {sorted(state['arrays'])} do not match {sorted(self.crossbars)}")
            for n, st in state["arrays"].items():
                self.crossbars[n].array.set_state(st)
            self._synced = {n: float(state["synced"][n]) for n in self.crossbars}
            now = float(state["clock"])
            if now > self.clock.now():
                self.clock.advance(now - self.clock.now())

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
                if target is None or target[0] != xname or (inp not in ins and inp not in state.grounded):
                    continue
                _, is_row, idx = target
                key = None if inp in state.grounded else ins[inp]
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
                self.events.append(f"t={self.clock.now():.6f}s: {len(driven)} sources shorted on one line")
            return driven[0] if driven else None
        src = self.sources[feed]
        if not src.on:
            return None
        return override[feed] if override is not None and feed in override else src.level

    def _codes(self, xname: str) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """Per line: index of its source in ``self._keys``, or -1 floating, -2 ground, -3 several (a short)."""
        cached = self._code_cache.get(xname)
        if cached is not None and cached[0] == self._relay_version:
            return cached[1]
        out = []
        for feeds in self._feeds(xname):
            codes = np.empty(len(feeds), dtype=np.int64)
            for i, f in enumerate(feeds):
                codes[i] = -1 if f is None else -2 if f == "gnd" else -3 if isinstance(f, list) else self._index[f]
            out.append(codes)
        result = (out[0], out[1])
        self._code_cache[xname] = (self._relay_version, result)
        return result

    def lines(self, xname: str, override: dict[Key, float] | None = None) -> LinesResult:
        """Line conditions of crossbar ``xname``: per-line volts (None = floating), and for each live source the
        indices of the rows and columns it drives. ``override`` replaces the levels of some live sources.

        Results are cached by relay state, source states and override (a bounded cache; callers must not mutate
        them), except overridden conditions with a short, whose every evaluation records the short."""
        key = (xname, self._relay_version, tuple([(s.on, s.level) for s in self._src_list]),
               None if override is None else tuple(override.items()))
        hit = self._lines_cache.get(key)
        if hit is not None:
            return hit
        sv = np.array([(override[k] if override is not None and k in override else s.level) if s.on else np.nan
                       for k, s in zip(self._keys, self._src_list, strict=True)] + [np.nan, 0.0, np.nan])
        rc, cc = self._codes(xname)
        out: list[Lines] = []
        shorts = False
        for codes, feeds in ((rc, self._feeds(xname)[0]), (cc, self._feeds(xname)[1])):
            v = sv[codes]  # -1 -> nan (floating), -2 -> 0 (ground), -3 -> resolved below
            vals: Lines = [None if x != x else x for x in v.tolist()]
            for i in np.flatnonzero(codes == -3):
                vals[i] = self._volts(feeds[i], override)
                shorts = True
            out.append(vals)
        result: LinesResult = (out[0], out[1], self._by_source(xname))
        if override is None or not shorts:
            if len(self._lines_cache) >= 512:
                self._lines_cache.clear()
            self._lines_cache[key] = result
        return result

    def _by_source(self, xname: str) -> dict[Key, tuple[IntArray, IntArray]]:
        """For each live source, the rows and columns of ``xname`` it drives (cached by relays and outputs on)."""
        key = (xname, self._relay_version, tuple([s.on for s in self._src_list]))
        hit = self._source_cache.get(key)
        if hit is not None:
            return hit
        rc, cc = self._codes(xname)
        by_source: dict[Key, tuple[IntArray, IntArray]] = {}
        for k, name in enumerate(self._keys):
            if self._src_list[k].on:
                r, c = np.flatnonzero(rc == k), np.flatnonzero(cc == k)
                if r.size or c.size:
                    by_source[name] = (r, c)
        if len(self._source_cache) >= 512:
            self._source_cache.clear()
        self._source_cache[key] = by_source
        return by_source

    def _limit_lines(self, xname: str) -> None:
        """Tell crossbar ``xname`` the compliance of the source on each of its lines (forming needs it)."""
        rc, cc = self._codes(xname)
        lim = [s.limit for s in self._src_list]
        key = (self._relay_version, tuple(lim))
        if self._limits_key.get(xname) == key:
            return
        self._limits_key[xname] = key
        self.crossbars[xname].set_line_limits([lim[k] if k >= 0 else None for k in rc.tolist()],
                                              [lim[k] if k >= 0 else None for k in cc.tolist()])

    def _touched(self, keys: list[Key]) -> list[str]:
        out = []
        for name in self.crossbars:
            _, _, by_source = self.lines(name)
            if any(k in by_source for k in keys):
                out.append(name)
        return out

    def _fold(self, xname: str, levels: dict[Key, float]) -> tuple[dict[Key, float], dict[Key, float]]:
        """Fold back every channel whose current would exceed its compliance (bisection on its level).
        Returns the folded levels and the static current of every live source at them."""
        out = dict(levels)
        for key in out:
            self.sources[key].tripped = False
        cur: dict[Key, float] | None = None  # currents at ``out`` (one I-V evaluation serves every source)
        for _ in range(4):  # folding one source changes the others' currents: repeat until all are within
            settled = True
            for key in list(out):
                src = self.sources[key]
                if cur is None:
                    cur = self._static_currents(xname, out)
                if abs(cur.get(key, 0.0)) <= src.limit * (1 + 1e-9):
                    continue
                settled = False
                src.tripped = True
                out[key] = out[key] * self._fold_factor(xname, out, key, src.limit, cur.get(key, 0.0))
                cur = None
            if settled:
                break
        return out, cur if cur is not None else self._static_currents(xname, out)

    def _fold_factor(self, xname: str, levels: dict[Key, float], key: Key, limit: float, i_full: float) -> float:
        """The largest factor m in [0, 1] on source ``key``'s level at which its current, in the direction it has at
        the full level (``i_full``, signed), stays within ``limit``: where the lines' load is fed by other sources too
        (V/2 bias: at 0 V the row would draw the half-selected cells' current backwards), the source settles at the
        level where it sources exactly its limit, as an SMU in compliance does. Regula falsi (Illinois) on a bracket
        [lo, hi], ending on the compliant side within 1e-9 of the level (~10 current evaluations: each is a network
        solve on a chip with wire resistance)."""
        v = levels[key]
        trial = dict(levels)
        sign = 1.0 if i_full >= 0 else -1.0

        def excess(m: float) -> float:
            trial[key] = v * m
            return sign * self._static_currents(xname, trial).get(key, 0.0) - limit

        lo, hi, f_lo, f_hi = 0.0, 1.0, excess(0.0), abs(i_full) - limit
        if f_lo > 0:  # over the limit in its own direction even at 0 V (other sources drive it): fold to 0
            return 0.0
        side = 0
        for _ in range(60):
            if hi - lo <= 1e-9:
                break
            m = (lo * f_hi - hi * f_lo) / (f_hi - f_lo) if f_hi != f_lo else 0.5 * (lo + hi)
            if not lo < m < hi:
                m = 0.5 * (lo + hi)
            f_m = excess(m)
            if f_m > 0:
                hi, f_hi = m, f_m
                if side == -1:
                    f_lo *= 0.5
                side = -1
            else:
                lo, f_lo = m, f_m
                if f_m > -1e-9 * limit:  # at the limit to 1 ppb: done
                    break
                if side == 1:
                    f_hi *= 0.5
                side = 1
        return lo

    def _current_bound(self, xname: str) -> float:
        """An upper bound of any source's current on ``xname`` as the lines are now: no cell carries more than
        prefactor·sinh(span/V0), span the widest voltage between two lines (floating lines settle within the
        driven levels and ground), and a source's current counts each cell at most twice (a row and a column)."""
        rows, cols, _ = self.lines(xname)
        driven = [v for v in (*rows, *cols) if v is not None]
        span = max([*driven, 0.0]) - min([*driven, 0.0])
        arr = self.crossbars[xname].array
        xp, v0 = arr.xp, arr.cells.V0
        v0_min = float(v0) if isinstance(v0, float | int) else float(xp.to_numpy(v0).min())
        bound = 2.0 * math.sinh(span / v0_min) * float(xp.to_numpy(arr.prefactor()).sum())
        return bound * (1.0 + 1e-6)

    def _static_currents(self, xname: str, levels: dict[Key, float]) -> dict[Key, float]:
        """Current out of every live source into crossbar ``xname`` with ``levels`` overriding, at the present
        state (no time passes), A."""
        rows, cols, by_source = self.lines(xname, levels)
        xbar = self.crossbars[xname]
        v = xbar.cell_voltages(rows, cols)
        cur = np.asarray(xbar.array.current(v))
        return {key: float(cur[r, :].sum()) - float(cur[:, c].sum()) for key, (r, c) in by_source.items()}

    # --- operations the instruments ask for -------------------------------------------------------------
    def measure(self, key: Key, duration: float | None = None) -> float:
        """Measure the current of channel ``key`` (A, out of its HI terminal) holding the present state."""
        return self.measure_many([key], duration)[key]

    def measure_many(self, keys: list[Key], duration: float | None = None) -> dict[Key, float]:
        """Measure the currents of several channels at once (A, out of each HI terminal) over one conversion
        holding the present state: overlapped measurements of channels that convert together."""
        with self.lock:
            self.wait_relays()
            hold = self.timing.read_duration if duration is None else duration
            live = [k for k in dict.fromkeys(keys) if self.sources[k].on]
            totals = {k: 0.0 for k in keys}
            for k in keys:
                if k not in live:
                    self.sources[k].last_current = self.sources[k].last_voltage = 0.0
            if not live:
                self.advance(hold)
                return totals
            for k in live:
                self.sources[k].last_voltage = self.sources[k].level
            touched = self._touched(live)
            for name in touched:
                _, _, present = self.lines(name)
                mine = {k: self.sources[k].level for k in live if k in present}
                bound = self._current_bound(name) if mine else 0.0
                if all(bound < self.sources[k].limit for k in mine):
                    for k in mine:
                        self.sources[k].tripped = False
                    folded = mine
                else:
                    folded, _ = self._fold(name, mine)
                    for k in mine:
                        self.sources[k].last_voltage = folded[k]
                self._catch_up(name)
                rows, cols, by_source = self.lines(name, folded)
                self._limit_lines(name)
                ri, ci = self.crossbars[name].read(rows, cols, hold)
                self._synced[name] += hold
                r_cur, c_cur = np.asarray(ri), np.asarray(ci)
                for k in mine:
                    if k in by_source:
                        r, c = by_source[k]
                        totals[k] += float(r_cur[r].sum()) + float(c_cur[c].sum())
            for name in self.crossbars:
                if name not in touched:
                    rows, cols, _ = self.lines(name)
                    if _biased(rows, cols):
                        self._catch_up(name)
                        self.crossbars[name].pulse(rows, cols, hold)
                        self._synced[name] += hold
            self.clock.advance(hold)
            for k in live:
                self.sources[k].last_current = totals[k]
            return totals

    def pulse(self, peaks: dict[Key, float], width: float) -> dict[Key, float]:
        """Step every listed channel to its peak for ``width`` s at once (other on-sources stay at their
        levels), then back. Returns each listed channel's current at the peak (A)."""
        with self.lock:
            self.wait_relays()
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
                folded, static = self._fold(name, mine)
                for k in mine:
                    currents[k] = static.get(k, 0.0)
                self._catch_up(name)
                rows, cols, _ = self.lines(name, folded)
                self._limit_lines(name)
                self.crossbars[name].pulse(rows, cols, width)
                self._synced[name] += width
            self.clock.advance(width)
            for k, c in currents.items():
                self.sources[k].last_current = c
            return currents

    def shaped_pulse(self, peaks: dict[Key, float], shape: Trapezoid, count: int = 1,
                     period: float | None = None) -> None:
        """``count`` trapezoid pulses of generator channels at once: each listed channel (open-circuit volts, behind
        its output resistance) rises from its present level to its peak; other on-sources hold their levels."""
        with self.lock:
            self.wait_relays()
            self.pulses += count
            live = {k: v for k, v in peaks.items() if self.sources[k].on}
            for name in self.crossbars:
                rows, cols, by_source = self.lines(name)
                mine = {k: v for k, v in live.items() if k in by_source}
                self._catch_up(name)
                self._limit_lines(name)  # the present routing's limits (a generator line has none)
                if mine:
                    drivers = {k: (*by_source[k], v) for k, v in mine.items()}
                    r = max(self.r_out.get(k, 0.0) for k in mine)
                    levels = loaded_levels(self.crossbars[name], rows, cols, drivers, r)
                    peak_rows, peak_cols, _ = self.lines(name, {k: float(v) for k, v in levels.items()})
                    apply_shaped_pulse(self.crossbars[name], (rows, cols), (peak_rows, peak_cols), shape, count,
                                       period)
                elif _biased(rows, cols):
                    self.crossbars[name].pulse(rows, cols, _span(shape, count, period))
                else:
                    self.crossbars[name].idle(_span(shape, count, period))
                self._synced[name] = self.clock.now() + _span(shape, count, period)
            self.clock.advance(_span(shape, count, period))

    def switch(self, matrix: str, points: list[tuple[int, int]], close: bool, *, settle: bool = True) -> bool:
        """Close or open crosspoints (input, output); relays take ``relay_settle`` to operate (``settle``
        False: this step moves together with the next one, which waits)."""
        with self.lock:
            changed = self.matrices[matrix].set(points, close)
            if changed:
                self._relay_version += 1
                if settle:
                    self.settle(matrix)
            return changed

    def settle(self, matrix: str, times: int = 1) -> None:
        """Charge ``times`` relay settling times to ``matrix``, after its earlier steps (other matrices settle at
        the same time)."""
        with self.lock:
            start = max(self.clock.now(), self._settled_at.get(matrix, 0.0))
            self._settled_at[matrix] = start + times * self.timing.relay_settle
            self._relays_until = max(self._relays_until, self._settled_at[matrix])

    def wait_relays(self) -> None:
        """Let time pass until the relays of every matrix have settled. A matrix settles its relays while the
        controller talks to the next one, so mainframes switched one after another within a settle time overlap:
        this waits for the last of them, not for their sum. Every message to a source, every measurement and pulse, and
        ``now()`` wait here first; a matrix's own message does not (``advance(..., relays=False)``)."""
        if self._relays_until <= self.clock.now():
            return
        with self.lock:
            end = self._relays_until
            if end > self.clock.now():
                self.advance(end - self.clock.now(), relays=False)

    def set_grounded(self, matrix: str, inputs: set[int]) -> None:
        """Inputs of ``matrix`` that the instrument itself ties to ground (B2200 ground mode, port 12/13)."""
        with self.lock:
            state = self.matrices[matrix]
            if state.grounded != inputs:
                state.grounded = set(inputs)
                self._relay_version += 1


def _span(shape: Trapezoid, count: int, period: float | None) -> float:
    """Time a burst takes: ``count`` pulses ``period`` apart (back to back without a period), s."""
    step = max(period or 0.0, shape.duration)
    return step * (count - 1) + shape.duration


def _biased(rows: Lines, cols: Lines) -> bool:
    """True when some cell sees a voltage (at least one line driven to a non-zero level)."""
    return any(v for v in rows if v is not None) or any(v for v in cols if v is not None)
