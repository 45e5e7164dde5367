"""``program``: write-verify (ISPP) of a whole array, or any masked part of it, to a target map.

Cells are programmed row by row; up to ``parallel`` cells of a row are in flight together (cells
wanting the same pulse share one pulse: the selected row at V, their columns at 0, the other lines
per ``scheme``), and verified with one clamped read of those cells. On a bench with the optional
``PulseAndRead`` capability the first verify read comes with the pulse (one operation, one round trip on an
instrument bench); the records are the same either way. The per-cell rules are in
:mod:`protocols._ispp`. Every pulse and read is emitted as it happens, then a ``CellOutcome`` per cell
(the journal commits there), then the final ``MapRecord`` named "program".

On a bench with the optional ``CellProgrammer`` capability (an SMU that runs write-verify itself, e.g. a 2600B
with labctl's script) and ``parallel = verify_reads = 1``, each cell's whole loop runs inside the instrument: one
operation per cell, the same records (every read and pulse, in order) and the same rules.

Resume: cells present in ``resume`` (the journal's outcomes) are never pulsed or read again.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
from pydantic import Field, model_validator

from labctl.core.access import BiasScheme, CrossbarAccess, PulseAndRead
from labctl.core.errors import ConfigError
from labctl.core.records import CellOutcome, CellStatus, MapRecord, Progress
from labctl.core.writeverify import CellProgrammer, IsppSettings, RowProgrammer, WarmState
from protocols._base import Params, RecordSink, Resume, check_read_volts
from protocols._ispp import CellProgram, CoarseReset
from protocols._set_limit import RowLoad
from protocols._targets import load_target_file, place, random_level_targets


class ProgramParams(Params):
    """Parameters of ``program``. Defaults suit the STANFORD_V1 device (gradual, self-limiting RESET whose
    end state is set by the amplitude: 1 µs at -1.10 / -1.15 / -1.20 / -1.30 V leaves about 85 / 34 / 18 /
    7.8 µS at 0.1 V; abrupt SET above 1.1-1.4 V)."""

    targets: str | None = Field(None, description="Target map file: NPZ (targets [S], optional bool mask) or CSV (S)")
    random_levels: int | None = Field(None, ge=2, le=64, description="Instead of a file: random targets at N levels")
    level_min: float = Field(10e-6, gt=0, le=1, description="Lowest random level, S")
    level_max: float = Field(100e-6, gt=0, le=1, description="Highest random level, S")
    shape: tuple[int, int] | None = Field(None, description="Random-target block (rows, cols); whole array if unset")
    origin: tuple[int, int] = Field((0, 0), description="Array cell (row, col) where the map's [0, 0] goes")
    seed: int = Field(0, ge=0, description="Seed of the random targets")
    read_voltage: float = Field(0.1, gt=0, le=1.0, description="Verify read voltage, V (within the read clamp)")
    verify_reads: int = Field(1, ge=1, le=64, description="Reads averaged per verify")
    abs_tol: float = Field(1e-6, ge=0, le=1e-2, description="Absolute tolerance, S")
    rel_tol: float = Field(0.03, ge=0, le=0.5, description="Relative tolerance (fraction of the target)")
    set_start: float = Field(1.1, gt=0, le=20, description="First SET amplitude, V")
    set_step: float = Field(0.05, gt=0, le=2, description="SET amplitude step, V")
    set_cap: float = Field(1.8, gt=0, le=20, description="Largest SET amplitude, V")
    reset_start: float = Field(1.1, gt=0, le=20, description="First RESET amplitude (magnitude), V")
    reset_step: float = Field(0.02, gt=0, le=2, description="RESET amplitude step, V")
    reset_cap: float = Field(1.8, gt=0, le=20, description="Largest RESET amplitude (magnitude), V")
    width: float = Field(5e-5, gt=0, le=10, description="Pulse width, s (B2902 pulse-mode minimum 50 µs)")
    set_width: float | None = Field(None, gt=0, le=10, description=(
        "First width of SET pulses, s (unset: width). The bench picks the source by width: shorter than the "
        "drive SMU's minimum goes through a pulse generator"))
    reset_width: float | None = Field(None, gt=0, le=10, description=(
        "First width of RESET pulses, s (unset: width); e.g. 5e-8 for gradual RESET with generator pulses"))
    width_growth: float = Field(2.0, ge=1, le=10, description="Width factor per pulse at the cap")
    width_max: float = Field(1e-3, gt=0, le=10, description="Longest pulse, s")
    max_at_cap: int = Field(10, ge=0, le=1000, description="Pulses allowed at the cap per polarity phase")
    max_pulses: int = Field(200, ge=1, le=100000, description="Pulses allowed per cell")
    max_reversals: int = Field(16, ge=0, le=1000, description="Polarity reversals allowed per cell")
    min_step: float = Field(0.002, gt=0, le=1, description="Smallest amplitude step of the bisection, V")
    bisect_set: bool = Field(False, description="Bisect SET amplitudes (off: abrupt SET repeats what switched)")
    bisect_reset: bool = Field(True, description="Bisect RESET amplitudes between short and overshoot")
    stuck_rel: float = Field(0.05, ge=0, le=10, description="A cell that never moved more than this is stuck")
    scheme: BiasScheme = Field(BiasScheme.HALF, description="Bias of unselected lines: v/2, v/3, floating, grounded")
    coarse_above: float | None = Field(None, gt=0, le=1, description=(
        "Coarse RESET while G is above this, S (unset: none): coarse pulses (coarse_start, coarse_step, "
        "coarse_width) bring a cell in LRS into the range where fine RESET pulses (reset_width) take over"))
    coarse_start: float = Field(1.0, gt=0, le=20, description="First coarse RESET amplitude (magnitude), V")
    coarse_step: float = Field(0.02, gt=0, le=2, description="Coarse RESET amplitude step, V")
    coarse_width: float = Field(5e-5, gt=0, le=10, description="Coarse RESET pulse width, s")
    reset_hold: float | None = Field(None, gt=0, le=1, description=(
        "Fine RESET keeps its amplitude while each pulse lowers G by more than this fraction (unset: the amplitude "
        "steps after every pulse that falls short)"))
    erase_volts: float | None = Field(None, gt=0, le=20, description=(
        "Before programming, RESET pulses of this magnitude (V) on every row's pending cells, erase_cells at a "
        "time (unselected lines grounded); unset: no erase. Leaves the array in HRS, so a generator behind 50 ohm is "
        "not loaded by lines of LRS cells when it RESETs one cell"))
    erase_width: float = Field(5e-5, gt=0, le=10, description="Width of the erase pulses, s")
    erase_all: bool = Field(False, description=(
        "Erase every cell of the array except verified ones, not only the cells to program (a generator's V/2 "
        "pulses load every line: cells left in LRS around a programmed block stall them)"))
    erase_cells: int = Field(8, ge=1, le=4096, description=(
        "Cells per erase pulse (a row's pending cells in groups of this many): few enough that the SMU stays out of "
        "compliance with every cell in LRS (a folded-back pulse leaves cells unerased)"))
    warm_start: bool = Field(True, description=(
        "Start each cell's RESET (SET) amplitude a few steps below the median final amplitude of the cells "
        "already programmed to the same target (of all cells); off: always from reset_start / set_start"))
    warm_back: int = Field(0, ge=0, le=50, description="Steps below the learned amplitude a warm start begins")
    parallel: int = Field(1, ge=1, le=4096, description=(
        "Cells of one row programmed together (1: a verify read moves no relay after its pulse; more cells "
        "share pulses but re-route per read)"))
    set_compliance: float | None = Field(None, gt=0, le=1, description=(
        "Current limit of the drive source during SET pulses, A (at most its configured compliance; unset: that "
        "compliance). A compliance-limited SET stops near I = limit instead of running away to full LRS: on a chip "
        "with wire resistance a cell far from the drivers in full LRS cannot be RESET again"))
    set_headroom: float | None = Field(None, gt=0, le=1, description=(
        "With set_compliance: each SET pulse's limit is the row's load (the drive current of the last SET pulse on "
        "this row that did not switch its cell, scaled to the new amplitude) plus this, A, at most set_compliance; "
        "a row's first SET pulse gets this alone and the limit grows from there. The half-selected cells of a row "
        "draw current from the drive too, different on every row (a stuck-ON cell there draws mA): a fixed limit "
        "either folds the pulse below the SET threshold or lets the cell run to full LRS"))
    set_headroom_track: bool = Field(True, description=(
        "With set_headroom: a row's headroom follows where its compliance-limited SETs land (a SET that switched "
        "its cell outside the target band scales the headroom by target / landed, within 1/4..4 of set_headroom)"))
    retries: int = Field(0, ge=0, le=10, description=(
        "A cell that failed (it switched but never stayed in band within its pulse and reversal limits) is "
        "write-verified again from a fresh start after its row's other cells, at most this many times; the "
        "journal keeps every pulse and one outcome per cell (its pulses over all attempts). Stuck cells are not "
        "retried. Where failed cells end above their band (overshoots), a retry can leave them below it instead "
        "(for binary targets: OFF instead of ON); see retry_below"))
    retry_below: float | None = Field(None, gt=0, le=1, description=(
        "With retries: retry only a failed cell whose target is at or above this conductance (S) and whose last "
        "reading is below it (binary targets, the conductance between OFF and ON: an ON target that reads OFF; a "
        "retry leaves it ON or OFF as it was, never worse; labctl loop does not retry). Unset: every failed cell"))

    @model_validator(mode="after")
    def _consistent(self) -> ProgramParams:
        if (self.targets is None) == (self.random_levels is None):
            raise ValueError("give exactly one of 'targets' (a file) or 'random_levels'")
        if self.level_min >= self.level_max:
            raise ValueError(f"level_min = {self.level_min:g} S must be below level_max = {self.level_max:g} S")
        for name in ("set", "reset"):
            if getattr(self, f"{name}_start") > getattr(self, f"{name}_cap"):
                raise ValueError(f"{name}_start must not exceed {name}_cap")
        if self.set_headroom is not None and self.set_compliance is None:
            raise ValueError("set_headroom needs set_compliance (the limit of a row's first SET pulse)")
        if self.coarse_above is not None and self.coarse_start > self.reset_cap:
            raise ValueError(f"coarse_start = {self.coarse_start:g} V must not exceed reset_cap = {self.reset_cap:g} V")
        for name in ("width", "set_width", "reset_width", "coarse_width"):
            w = None if name == "coarse_width" and self.coarse_above is None else getattr(self, name)
            if w is not None and w > self.width_max:
                raise ValueError(f"{name} = {w:g} s must not exceed width_max = {self.width_max:g} s")
        return self

    def widths(self) -> dict[int, float]:
        """First pulse width per polarity (1: SET, -1: RESET), s."""
        return {1: self.set_width or self.width, -1: self.reset_width or self.width}

    def coarse(self) -> CoarseReset | None:
        """The coarse RESET phase, if any."""
        if self.coarse_above is None:
            return None
        return CoarseReset(self.coarse_above, self.coarse_start, self.coarse_step, self.coarse_width)

    @property
    def host_rules(self) -> list[str]:
        """Parameters set here that only the host loop follows (not labctl's in-instrument script)."""
        w = self.widths()
        out = ["set_width/reset_width"] if w[1] != w[-1] or w[1] != self.width else []
        out += [n for n in ("coarse_above", "reset_hold", "set_compliance", "set_headroom")
                if getattr(self, n) is not None]
        return out + (["retries"] if self.retries else [])

    def settings(self) -> IsppSettings:
        return IsppSettings(
            self.set_start, self.set_step, self.set_cap, self.reset_start, self.reset_step, self.reset_cap,
            self.width, self.width_growth, self.width_max, self.max_at_cap, self.max_pulses, self.max_reversals,
            self.min_step, self.bisect_set, self.bisect_reset, self.abs_tol, self.rel_tol, self.stuck_rel,
        )


def build_targets(p: ProgramParams, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Full-array (targets S with NaN outside the mask, mask) for these parameters."""
    if p.targets is not None:
        t, m = load_target_file(p.targets)
    else:
        r0, c0 = p.origin
        if not (0 <= r0 < rows and 0 <= c0 < cols):
            raise ConfigError.invalid("origin", p.origin, f"a cell of the {rows}x{cols} array")
        shape = p.shape or (rows - r0, cols - c0)
        if shape[0] < 1 or shape[1] < 1:
            raise ConfigError.invalid("shape", shape, "positive (rows, cols)")
        if r0 + shape[0] > rows or c0 + shape[1] > cols:
            raise ConfigError.invalid("shape", shape, f"a block that fits the {rows}x{cols} array from origin "
                                      f"{tuple(p.origin)} (at most ({rows - r0}, {cols - c0}))")
        t, m = random_level_targets(int(p.random_levels or 0), p.level_min, p.level_max, shape, p.seed)
    return place(t, m, p.origin, rows, cols)


def check_against_bench(p: ProgramParams, access: CrossbarAccess) -> None:
    """Parameters that the bench's limits would refuse are refused before anything is sent."""
    lim = access.limits
    check_read_volts(access, "read_voltage", p.read_voltage)
    for f in ("set_cap", "reset_cap"):
        if getattr(p, f) > lim.max_program_voltage:
            raise ConfigError.out_of_range(f, getattr(p, f), 0, lim.max_program_voltage, "V (bench limit)")
    if p.erase_volts is not None and p.erase_volts > lim.max_program_voltage:
        raise ConfigError.out_of_range("erase_volts", p.erase_volts, 0, lim.max_program_voltage, "V (bench limit)")
    unused = {"erase_width": p.erase_volts is None, "coarse_width": p.coarse_above is None}
    for f in ("width", "width_max", "set_width", "reset_width", "erase_width", "coarse_width"):
        w = None if unused.get(f) else getattr(p, f)
        if w is not None and not lim.min_pulse_width <= w <= lim.max_pulse_width:
            raise ConfigError.out_of_range(f, w, lim.min_pulse_width, lim.max_pulse_width, "s")


async def run(
    access: CrossbarAccess, params: ProgramParams, sink: RecordSink, *, resume: Resume | None = None
) -> dict[str, Any]:
    """Program the target map; return a summary (counts by status, pulses)."""
    check_against_bench(params, access)
    targets, mask = build_targets(params, access.rows, access.cols)
    settings = params.settings()
    done = dict(resume or {})
    g_map = np.full(targets.shape, np.nan)
    status = np.full(targets.shape, "", dtype="<U9")
    status[mask] = str(CellStatus.PENDING)
    for (r, c), o in done.items():
        if 0 <= r < access.rows and 0 <= c < access.cols and mask[r, c]:
            g_map[r, c], status[r, c] = o.conductance, str(o.status)
    total = int(mask.sum())
    finished = int(sum(1 for (r, c) in done if 0 <= r < access.rows and 0 <= c < access.cols and mask[r, c]))
    sink.emit(Progress(finished, total, "program: start"))
    vr = params.read_voltage
    hints = _WarmStart(params)
    combined = access if isinstance(access, PulseAndRead) else None
    simple = params.parallel == 1 and params.verify_reads == 1
    if simple and params.host_rules and isinstance(access, CellProgrammer) and access.can_program_cells(
            params.scheme):
        name = params.host_rules[0]
        raise ConfigError.invalid(name, getattr(params, name.split("/")[-1]),
                                  "unset on a bench that runs write-verify inside the SMU (its script has one "
                                  "width for both polarities and no coarse RESET); or parallel > 1 to run the "
                                  "loop on the host")
    inside = (access if simple and isinstance(access, CellProgrammer) and access.can_program_cells(params.scheme)
              else None)
    batch = (access.cells_per_operation(params.scheme) if simple and isinstance(access, RowProgrammer) else 0)
    rows_of = access if batch > 0 and isinstance(access, RowProgrammer) else None
    if params.erase_volts is not None:  # every row's pending cells RESET first (never cells verified before)
        for row in range(access.rows):
            which = np.ones(access.cols, bool) if params.erase_all else mask[row]
            cols = [int(c) for c in np.flatnonzero(which) if (row, int(c)) not in done]
            for k in range(0, len(cols), params.erase_cells):
                for prec in await access.pulse(row, cols[k:k + params.erase_cells], -params.erase_volts,
                                               params.erase_width, BiasScheme.GROUNDED):
                    sink.emit(prec)
    for row in range(access.rows):
        queue = deque(int(c) for c in np.flatnonzero(mask[row]) if (row, int(c)) not in done)
        if inside is not None:  # each cell's whole loop inside the instrument: one operation per cell (or batch)
            cells = list(queue)
            for k in range(0, len(cells), max(batch, 1)):
                part = cells[k:k + batch] if rows_of is not None else cells[k:k + 1]
                ts = [float(targets[row, c]) for c in part]
                if rows_of is not None:
                    runs = await rows_of.program_row(row, part, ts, settings, hints.state(), params.scheme, vr)
                else:
                    runs = [await inside.program_cell(row, part[0], ts[0], settings, hints.start(ts[0]),
                                                      params.scheme, vr)]
                for c, t, res in zip(part, ts, runs, strict=True):
                    sink.emit(res.reads[0])
                    for prec, rec in zip(res.pulses, res.reads[1:], strict=True):
                        sink.emit(prec)
                        sink.emit(rec)
                    hints.learn_values(res.status, len(res.pulses), res.pol, t, res.amp, res.over_set)
                    sink.emit(CellOutcome(row, c, res.status, t, res.conductance, len(res.pulses)))
                    g_map[row, c], status[row, c] = res.conductance, str(res.status)
                    finished += 1
                    sink.emit(Progress(finished, total, f"program: row {row} col {c} {res.status}"))
            continue
        active: list[CellProgram] = []
        fresh: dict[int, list[float]] = {}  # col -> conductances read with its last pulse (PulseAndRead)
        load = RowLoad(params.set_compliance, params.set_headroom, params.set_headroom_track)  # SET limits, this row
        tries: dict[int, int] = {}  # col -> attempts that failed so far (``retries``)
        spent: dict[int, int] = {}  # col -> pulses of those attempts
        while queue or active:
            while queue and len(active) < params.parallel:
                c = queue.popleft()
                t = float(targets[row, c])
                active.append(CellProgram(row, c, t, settings, hints.start(t), params.widths(),
                                          params.coarse(), params.reset_hold))
            for k in range(params.verify_reads):
                cols = [cp.col for cp in active if len(fresh.get(cp.col, ())) <= k]
                if cols:
                    for rec in await access.read(row, cols, vr):
                        sink.emit(rec)
                        fresh.setdefault(rec.col, []).append(rec.current / rec.volts)
            g = [sum(fresh.pop(cp.col)[:params.verify_reads]) / params.verify_reads for cp in active]
            groups: dict[tuple[float, float], list[int]] = {}
            still: list[CellProgram] = []
            for cp, gk in zip(active, g, strict=True):
                load.seen(cp.col, gk, (cp.lo, cp.target, cp.hi))
                nxt = cp.observe(gk)
                if nxt is None and cp.status == CellStatus.FAILED and tries.get(cp.col, 0) < params.retries \
                        and _retry(params.retry_below, cp.target, gk):
                    tries[cp.col] = tries.get(cp.col, 0) + 1
                    spent[cp.col] = spent.get(cp.col, 0) + cp.pulses
                    queue.append(cp.col)  # again from a fresh start, after the row's other cells
                elif nxt is None:
                    hints.learn(cp)
                    sink.emit(CellOutcome(row, cp.col, cp.status, cp.target, gk, cp.pulses + spent.get(cp.col, 0)))
                    g_map[row, cp.col], status[row, cp.col] = gk, str(cp.status)
                    finished += 1
                    sink.emit(Progress(finished, total, f"program: row {row} col {cp.col} {cp.status}"))
                else:
                    groups.setdefault(nxt, []).append(cp.col)
                    still.append(cp)
            active = still
            for (volts, width), gcols in groups.items():
                icc = load.limit(volts)
                if combined is not None:  # the pulse and the first verify read of its cells in one operation
                    pulses, reads = await combined.pulse_and_read(row, gcols, volts, width, params.scheme, vr,
                                                                  compliance=icc)
                else:
                    pulses, reads = await access.pulse(row, gcols, volts, width, params.scheme, compliance=icc), []
                load.pulsed(gcols, volts, pulses, icc)
                for prec in pulses:
                    sink.emit(prec)
                for rec in reads:
                    sink.emit(rec)
                    fresh.setdefault(rec.col, []).append(rec.current / rec.volts)
    sink.emit(MapRecord("program", g_map, vr, targets=targets, status=status))
    counts = {s.value: int((status == s.value).sum()) for s in CellStatus}
    sink.emit(Progress(total, total, "program: done"))
    return {"cells": total, **counts}


class _WarmStart:
    """First amplitudes learned from converged cells: RESET per target (self-limiting RESET lands on a gap set
    by the amplitude), SET over all cells (the smallest amplitude that switched)."""

    def __init__(self, p: ProgramParams, keep: int = 16) -> None:
        self.p, self.keep = p, keep
        self.reset: dict[float, deque[float]] = {}
        self.set: deque[float] = deque(maxlen=keep)

    def start(self, target: float) -> dict[int, float] | None:
        if not self.p.warm_start:
            return None
        out: dict[int, float] = {}
        if self.reset.get(target):
            amp = float(np.median(self.reset[target])) - self.p.warm_back * self.p.reset_step
            out[-1] = min(max(amp, self.p.min_step), self.p.reset_cap)
        if self.set:
            amp = float(np.median(self.set)) - self.p.warm_back * self.p.set_step
            out[1] = min(max(amp, self.p.min_step), self.p.set_cap)
        return out

    def state(self) -> WarmState | None:
        """The history as it stands (None without warm starts), for a batch that warm-starts inside."""
        if not self.p.warm_start:
            return None
        return WarmState(self.keep, self.p.warm_back, {t: list(d) for t, d in self.reset.items()}, list(self.set))

    def learn(self, cp: CellProgram) -> None:
        self.learn_values(cp.status, cp.pulses, cp.pol, cp.target, cp.amp, cp.over[1])

    def learn_values(self, status: CellStatus, pulses: int, pol: int, target: float, amp: float,
                     over_set: float | None) -> None:
        if status != CellStatus.CONVERGED or pulses == 0:
            return
        if pol == -1:
            self.reset.setdefault(target, deque(maxlen=self.keep)).append(amp)
        if over_set is not None:
            self.set.append(over_set)


def _retry(below: float | None, target: float, g: float) -> bool:
    """Whether a failed cell (``target``, last reading ``g``) is retried under ``retry_below``."""
    return below is None or (target >= below > g)
