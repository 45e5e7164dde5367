"""``BenchCrossbar``: :class:`labctl.core.CrossbarAccess` routed through the SMU and switch-matrix drivers.

The same code drives a real bench and the simulated one. Per operation:

* pulse (V/2, grounded, floating): route (one round trip, relays verified) + one pulse message on the drive SMU
  that fires the drive and bias channels together (B2902 pulse mode, both channels on one ``:INIT``). V/3 with
  the column bias on a second instrument: that instrument is armed on the trigger bus first and switched off
  after (two more round trips).
* read: per column, the equipotential scheme: selected row on drive at the read voltage, selected column
  grounded, every other line on the bias channel at the read voltage; the drive current is the cell's current
  alone. Same relays as a V/2 pulse on that cell, so a verify read moves no relay: one round trip. (Benches
  whose bias is not on the drive instrument read through the sense input instead.)
* pulse_and_read (the optional :class:`labctl.core.access.PulseAndRead`): a V/2 pulse on one cell and its
  equipotential verify read use the same relays, so the drive SMU gets both as one program message: one round trip
  per programming step (plus the route when the cell changes). Other cases do the pulse and the read in turn.
* infer: superposition over distinct row voltages: per level and column, route + read. Exact for any cell I-V
  because every row is driven (level or ground) and the sensed column is held at 0 V.
* wait: bench time passes with outputs off (the simulator's virtual clock on a simulated bench, a sleep otherwise).

Routing is skipped without any I/O when the matrix already holds the wanted relays (consecutive operations on
one cell); relay plans are cached per cell.

Any error or cancellation puts the bench in its safe state (outputs off, relays open) and logs it.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from labctl.bench._wiring import Point, Source, Wiring
from labctl.core.access import BiasScheme
from labctl.core.errors import ConfigError, InstrumentError
from labctl.core.limits import SafetyLimits
from labctl.core.records import CellStatus, PulseRecord, ReadRecord
from labctl.core.writeverify import CellRun, IsppSettings, WarmState

if TYPE_CHECKING:
    from labctl.bench._bench import Bench

log = logging.getLogger("labctl.bench")
T = TypeVar("T")


class BenchCrossbar:
    """Cell-level access to one crossbar of a bench."""

    def __init__(self, bench: Bench, wiring: Wiring, limits: SafetyLimits) -> None:
        self._bench = bench
        self.wiring = wiring
        self.name = wiring.name
        self.rows = wiring.rows
        self.cols = wiring.cols
        self.limits = limits
        self._lock = asyncio.Lock()
        self._outputs = wiring.lines_on()  # per mainframe, its outputs wired to this crossbar
        self.counts = {"pulse": 0, "read": 0, "route": 0}

    def now(self) -> float:
        return self._bench.now()

    # --- helpers ------------------------------------------------------------------------------------------
    async def _guarded(self, op: str, fn: Callable[[], Awaitable[T]]) -> T:
        async with self._lock:
            try:
                return await fn()
            except BaseException as exc:
                await self._bench.safe_state(reason=f"{self.name}.{op} failed: {type(exc).__name__}: {exc}")
                raise

    def _check_cells(self, row: int, cols: Sequence[int]) -> None:
        if not 0 <= row < self.rows:
            raise ConfigError.out_of_range("row", row, 0, self.rows - 1)
        if not cols:
            raise ConfigError.invalid("cols", list(cols), "at least one column")
        for c in cols:
            if not 0 <= c < self.cols:
                raise ConfigError.out_of_range("col", c, 0, self.cols - 1)
        if len(set(cols)) != len(cols):
            raise ConfigError.invalid("cols", list(cols), "distinct columns")

    async def _route(self, target: frozenset[Point] | set[Point]) -> None:
        """Make ``target`` the closed set of this crossbar's lines: each mainframe gets its own part (those that
        already hold it get no message at all), the mainframes switch concurrently."""
        moves = []
        for name, part in self.wiring.split(frozenset(target)):
            matrix = self._bench.matrix(name)
            state = matrix.state
            if state == part:  # already there (the usual case: the same cell again)
                continue
            mine = self._outputs[name]
            want = part | {p for p in state if p[1] not in mine}
            if len(self.wiring.matrix_names) > 1:
                matrix.check_target(want)  # every mainframe's part is checked before any of them switches
            moves.append((matrix, want))
        if moves and any(await asyncio.gather(*(m.route(w) for m, w in moves))):
            self.counts["route"] += 1

    def _smu(self, source: Source) -> Any:
        return self._bench.smu(source[0])

    # --- CrossbarAccess -------------------------------------------------------------------------------------
    def _pulse_levels(self, row: int, cols: list[int], volts: float, width: float, scheme: BiasScheme
                      ) -> tuple[frozenset[Point], dict[Source, float], Source]:
        """Checked plan of a pulse: relays, source peaks and the drive source. Raises before any I/O."""
        self._check_cells(row, cols)
        self.limits.check_program(volts, width)
        if self._by_generator(width):
            return self._generator_levels(row, cols, volts, width, scheme)
        target, levels = self.wiring.pulse_plan(row, cols, volts, scheme)
        drive = self.wiring.drive.source
        if drive is None:
            raise ConfigError.invalid(f"crossbars.{self.name}.wiring", "drive on ground", "an SMU channel")
        for (inst, _), v in levels.items():  # every level is checked before anything is sent
            self._bench.smu(inst).limits.check_pulse(v, width) if v else None
        return target, levels, drive

    def _by_generator(self, width: float) -> bool:
        """A pulse goes through the generator when the crossbar has a 'pulse' input and the drive SMU cannot make
        a pulse this short (its ``min_pulse_width``)."""
        drive = self.wiring.drive.source
        shortest = getattr(self._bench.smu(drive[0]), "min_pulse_width", 0.0) if drive is not None else 0.0
        return self.wiring.pulse is not None and width < shortest

    def _generator_levels(self, row: int, cols: list[int], volts: float, width: float, scheme: BiasScheme
                          ) -> tuple[frozenset[Point], dict[Source, float], Source]:
        """Checked plan of a generator pulse (the wiring has a 'pulse' input)."""
        target, levels = self.wiring.generator_plan(row, cols, volts, scheme)
        drive = self.wiring.pulse.source if self.wiring.pulse is not None else None
        assert drive is not None
        for inst in {i for i, _ in levels}:
            gen = self._bench.smu(inst)
            gen.check_pulse({ch: v for (i, ch), v in levels.items() if i == inst}, width, gen.edge_for(width))
        return target, levels, drive

    async def _generator_pulse(self, row: int, cols: list[int], volts: float, width: float, scheme: BiasScheme,
                               target: frozenset[Point], levels: dict[Source, float]) -> list[PulseRecord]:
        gens = {i for i, _ in levels}

        async def run() -> list[PulseRecord]:
            await self._route(target)
            if len(gens) != 1:
                raise ConfigError.invalid(f"crossbars.{self.name}.wiring", "pulse inputs on two generators",
                                          "'pulse' and 'pulse_bias' on two channels of one generator")
            gen = self._bench.smu(next(iter(gens)))
            await gen.pulse_channels({ch: v for (_, ch), v in levels.items()}, width)
            self.counts["pulse"] += 1
            t = self.now()
            return [PulseRecord(row, c, volts, width, t, math.nan, str(scheme)) for c in cols]

        return await self._guarded("pulse", run)

    def _check_compliance(self, drive: Source, compliance: float | None, width: float) -> None:
        """A pulse's own compliance: at most the drive source's configured one; none on a generator pulse."""
        if compliance is None:
            return
        if self._by_generator(width):
            raise ConfigError.invalid("compliance", compliance, "None for a generator pulse (a 50 ohm output has "
                                      "no current limit to set)")
        self._smu(drive).limits.check_compliance(compliance)

    async def _limit_drive(self, drive: Source, compliance: float | None) -> None:
        """Set the drive channel's current limit to ``compliance`` (None: the configured one) when it differs."""
        smu = self._smu(drive)
        want = smu.limits.compliance if compliance is None else compliance
        if getattr(smu, "compliance", {}).get(drive[1], want) != want:
            await smu.set_compliance(want, drive[1])

    async def pulse(self, row: int, cols: Sequence[int], volts: float, width: float,
                    scheme: BiasScheme = BiasScheme.HALF, *, compliance: float | None = None) -> list[PulseRecord]:
        cols = list(cols)
        scheme = BiasScheme(scheme)
        target, levels, drive = self._pulse_levels(row, cols, volts, width, scheme)
        self._check_compliance(drive, compliance, width)
        if self._by_generator(width):
            return await self._generator_pulse(row, cols, volts, width, scheme, target, levels)
        master = drive[0]

        async def run() -> list[PulseRecord]:
            await self._route(target)
            await self._limit_drive(drive, compliance)
            slaves: dict[str, dict[int, float]] = {}
            local: dict[int, float] = {}
            for (inst, ch), v in levels.items():
                (local if inst == master else slaves.setdefault(inst, {}))[ch] = v
            for inst, peaks in slaves.items():
                smu = self._bench.smu(inst)
                if not hasattr(smu, "arm"):
                    raise ConfigError.invalid(f"instruments.{inst}.driver", type(smu).__name__,
                                              "keysight_b2902 (a bias source on another instrument must be "
                                              "triggered with the drive pulse)")
                await smu.arm(peaks, width)
            smu = self._bench.smu(master)
            if hasattr(smu, "pulse_channels"):
                current = await smu.pulse_channels(local, width, measure=drive[1])
            elif len(local) == 1 and not slaves:
                current = await smu.pulse(volts, width, drive[1])
            else:
                raise ConfigError.invalid(f"instruments.{master}.driver", type(smu).__name__,
                                          "keysight_b2902 for pulses with biased lines on the same instrument")
            for inst, peaks in slaves.items():
                await self._bench.smu(inst).outputs_off(sorted(peaks))
            await self._limit_drive(drive, None)
            self.counts["pulse"] += 1
            t = self.now()
            cur = current if len(cols) == 1 else math.nan
            return [PulseRecord(row, c, volts, width, t, cur, str(scheme)) for c in cols]

        return await self._guarded("pulse", run)

    async def pulse_and_read(self, row: int, cols: Sequence[int], volts: float, width: float,
                             scheme: BiasScheme, read_volts: float, *, compliance: float | None = None
                             ) -> tuple[list[PulseRecord], list[ReadRecord]]:
        """A pulse and its verify read: one message on the drive SMU when the read needs no relay to move (one
        cell, V/2, bias on the drive instrument, a driver with ``pulse_and_read``); otherwise pulse then read."""
        cols = list(cols)
        scheme = BiasScheme(scheme)
        target, levels, drive = self._pulse_levels(row, cols, volts, width, scheme)
        self.limits.check_read(read_volts)
        self._check_compliance(drive, compliance, width)
        smu = self._bench.smu(drive[0])
        plan = self.wiring.equipotential_plan(row, cols[0]) if len(cols) == 1 else None
        if (plan is None or plan != target or not hasattr(smu, "pulse_and_read")
                or any(inst != drive[0] for inst, _ in levels)):
            return (await self.pulse(row, cols, volts, width, scheme, compliance=compliance),
                    await self.read(row, cols, read_volts))
        peaks = {ch: v for (_, ch), v in levels.items()}
        biases = self._read_biases()
        smu.limits.check_read(read_volts)

        async def run() -> tuple[list[PulseRecord], list[ReadRecord]]:
            await self._route(target)
            await self._limit_drive(drive, compliance)
            t0 = self.now()
            i_pulse, i_read = await smu.pulse_and_read(peaks, width, measure=drive[1], read_volts=read_volts,
                                                       biases=biases)
            await self._limit_drive(drive, None)
            self.counts["pulse"] += 1
            self.counts["read"] += 1
            return ([PulseRecord(row, cols[0], volts, width, t0, i_pulse, str(scheme))],
                    [ReadRecord(row, cols[0], read_volts, float(i_read), self.now())])

        return await self._guarded("pulse_and_read", run)

    def _read_biases(self) -> list[int]:
        return sorted({s[1] for s in (self.wiring.bias_row.source, self.wiring.bias_col_half.source) if s})

    # --- CellProgrammer (labctl.core.writeverify) --------------------------------------------------------------
    def _cell_plan(self, row: int, col: int, scheme: BiasScheme) -> tuple[frozenset[Point], Any, Source,
                                                                         int, float] | None:
        """Relays, drive SMU, drive source, bias channel and bias factor of an in-instrument write-verify, or
        None when this bench cannot run one (the drive SMU has no write-verify, the scheme is not V/2, or the
        bias is on another instrument or the verify read would move relays)."""
        drive = self.wiring.drive.source
        if drive is None or BiasScheme(scheme) != BiasScheme.HALF or self.wiring.pulse is not None:
            return None
        smu = self._smu(drive)
        if not hasattr(smu, "write_verify"):
            return None
        target, levels = self.wiring.pulse_plan(row, [col], 1.0, scheme)
        if target != self.wiring.equipotential_plan(row, col) or any(i != drive[0] for i, _ in levels):
            return None
        biases = {ch: v for (_, ch), v in levels.items() if ch != drive[1]}
        if len(biases) != 1:
            return None
        (bias, kbias), = biases.items()
        return target, smu, drive, bias, kbias

    def can_program_cells(self, scheme: BiasScheme) -> bool:
        return self._cell_plan(0, 0, scheme) is not None

    async def program_cell(self, row: int, col: int, target: float, settings: IsppSettings,
                           start: dict[int, float] | None, scheme: BiasScheme, read_volts: float) -> CellRun:
        """One cell's whole write-verify inside the drive SMU: route + one message. Limits are checked on the
        bench (amplitude caps, widths, read clamp) and by the driver on every source level first."""
        self._check_cells(row, [col])
        plan = self._cell_plan(row, col, scheme)
        if plan is None:
            raise ConfigError.invalid(f"crossbars.{self.name}", "this bench", "an SMU with write_verify and V/2")
        relays, smu, drive, bias, kbias = plan
        for v in (settings.set_cap, settings.reset_cap, *(abs(x) for x in (start or {}).values())):
            for w in (settings.width, settings.width_max):
                self.limits.check_program(v, w)
        self.limits.check_read(read_volts)
        smu.check_write_verify(settings, start, read_volts, drive[1], bias, kbias)

        async def run() -> CellRun:
            await self._route(relays)
            t0 = self.now()
            res = await smu.write_verify(settings, target=target, start=start, read_volts=read_volts,
                                         drive=drive[1], bias=bias, kbias=kbias)
            return self._cell_run(row, col, res, t0, scheme, read_volts)

        return await self._guarded("program_cell", run)

    # --- RowProgrammer: the SMU routes the matrix itself over TSP-Link ---------------------------------------
    ROW_BATCH = 16
    """Cells per operation of :meth:`program_row` (a crash loses at most these cells' records)."""

    def _links(self) -> dict[str, int] | None:
        """TSP-Link node of every mainframe of this crossbar, when the drive SMU is on the same link."""
        cfg = self._bench.config.instruments
        drive = self.wiring.drive.source
        if drive is None or cfg[drive[0]].tsplink_node is None:
            return None
        nodes = {m: cfg[m].tsplink_node for m in self.wiring.matrix_names}
        if any(n is None or cfg[m].driver != "keithley_707b" for m, n in nodes.items()):
            return None
        return {m: int(n) for m, n in nodes.items() if n is not None}

    def cells_per_operation(self, scheme: BiasScheme) -> int:
        """Cells per :meth:`program_row` call: ``ROW_BATCH``, rounded up to whole groups of parallel write-verify
        (18 with six column channels), 0 when this bench has no in-instrument row programming."""
        links = self._links()
        if self._cell_plan(0, 0, scheme) is None or links is None:
            return 0
        k = len(self._column_channels(links)) or 1
        return k * -(-self.ROW_BATCH // k)

    async def program_row(self, row: int, cols: list[int], targets: list[float], settings: IsppSettings,
                          warm: WarmState | None, scheme: BiasScheme, read_volts: float) -> list[CellRun]:
        """Cells of one row in one message on the drive SMU, which moves the relays itself (TSP-Link) between
        cells with its outputs off. Every cell's relay plan is checked as a route would be (range, two inputs on
        one output) and every limit before the message; after it, each mainframe's closed set is read back."""
        links = self._links()
        self._check_cells(row, cols)
        plan = self._cell_plan(row, cols[0], scheme)
        if plan is None or links is None:
            raise ConfigError.invalid(f"crossbars.{self.name}", "this bench", "a 2600B and 707Bs on TSP-Link")
        _, smu, drive, bias, kbias = plan
        for v in (settings.set_cap, settings.reset_cap):
            for w in (settings.width, settings.width_max):
                self.limits.check_program(v, w)
        self.limits.check_read(read_volts)
        smu.check_write_verify(settings, None, read_volts, drive[1], bias, kbias)
        state = {m: set(self._bench.matrix(m).state) for m in self.wiring.matrix_names}
        columns = self._column_channels(links)
        if columns:  # parallel write-verify: groups of cells of the row, one per column channel
            for inst in {f.source[0] for f in self.wiring.columns if f.source is not None}:
                for v in (settings.set_cap, settings.reset_cap):  # each column channel sources minus the amplitude
                    for w in (settings.width, settings.width_max):
                        self._bench.smu(inst).limits.check_pulse(-v, w)
            k = len(columns)
            # cells with the same target share a group: their loops pulse in the same direction and take a similar
            # number of steps, so a group's steps are fewer and its V/2 bias fits every pulsed cell
            order = sorted(range(len(cols)), key=lambda i: (targets[i], i))
            groups = []
            for g in range(0, len(order), k):
                part = order[g:g + k]
                relays = self.wiring.group_plan(row, [cols[i] for i in part])
                groups.append((self._moves(relays, state, links),
                               list(zip([targets[i] for i in part], columns, strict=False))))

            async def run_groups() -> list[CellRun]:
                t0 = self.now()
                results = await smu.write_verify_groups(settings, groups, warm=warm, read_volts=read_volts,
                                                        bias=bias, kbias=kbias)
                if len(results) != len(order):
                    raise InstrumentError(f"{self.name}: {len(results)} results for {len(order)} cells")
                by_cell = dict(zip(order, results, strict=True))
                return await self._row_results(row, cols, [by_cell[i] for i in range(len(cols))], state, t0,
                                               scheme, read_volts, len(groups))

            return await self._guarded("program_row", run_groups)
        cells = []
        for col, target in zip(cols, targets, strict=True):
            plan_relays = self.wiring.equipotential_plan(row, col)
            assert plan_relays is not None  # _cell_plan checked the wiring
            cells.append((target, self._moves(plan_relays, state, links)))

        async def run() -> list[CellRun]:
            t0 = self.now()
            results = await smu.write_verify_row(settings, cells, warm=warm, read_volts=read_volts, drive=drive[1],
                                                 bias=bias, kbias=kbias)
            return await self._row_results(row, cols, results, state, t0, scheme, read_volts, len(cols))

        return await self._guarded("program_row", run)

    def _moves(self, relays: frozenset[Point], state: dict[str, set[Point]], links: dict[str, int]
               ) -> list[tuple[int, str]]:
        """The TSP-Link relay moves that make ``relays`` this crossbar's closed set, from ``state`` (each
        mainframe's closed set, updated): one exclusiveclose of a mainframe's whole closed set where it changes.
        Each plan is checked as a route would be (range, two inputs on one output)."""
        parts = dict(self.wiring.split(relays))
        route = []
        for m in self.wiring.matrix_names:
            mat = self._bench.matrix(m)
            want = set(parts.get(m, frozenset())) | {p for p in state[m] if p[1] not in self._outputs[m]}
            saved, mat.state = mat.state, state[m]
            try:
                opens, closes = mat.check_target(want)
            finally:
                mat.state = saved
            if opens or closes:  # one exclusiveclose of the mainframe's whole closed set: one settling time
                route.append((links[m], mat.channel_ranges(sorted(want))))
            state[m] = want
        return route

    def _column_channels(self, links: dict[str, int]) -> list[str]:
        """TSP names of the column channels of parallel write-verify (``node[4].smua``), or [] when this bench has
        none or one is not a 2600B on the drive SMU's TSP-Link network."""
        cfg = self._bench.config.instruments
        drive = self.wiring.drive.source
        names = []
        for feed in self.wiring.columns:
            if feed.source is None or drive is None:
                return []
            inst, ch = feed.source
            node = cfg[inst].tsplink_node
            if cfg[inst].driver != "keithley_2600b" or node is None:
                return []
            chan = "smua" if ch == 1 else "smub"
            names.append(chan if inst == drive[0] else f"node[{node}].{chan}")
        return names

    async def _row_results(self, row: int, cols: list[int], results: list[Any], state: dict[str, set[Point]],
                           t0: float, scheme: BiasScheme, read_volts: float, moves: int) -> list[CellRun]:
        """Check the relays the script left (read back from each mainframe) and turn its replies into runs."""
        for m in self.wiring.matrix_names:  # the relays moved without the host: read them back
            mat = self._bench.matrix(m)
            mat.state = set(await mat.closed())
            if mat.state != state[m]:
                raise InstrumentError(f"{m}: relays after the row are not where the script put them "
                                      f"({len(mat.state ^ state[m])} crosspoints differ)")
        out = [self._cell_run(row, col, res, t0, scheme, read_volts) for col, res in zip(cols, results, strict=True)]
        self.counts["route"] += moves
        return out

    def _cell_run(self, row: int, col: int, res: Any, t0: float, scheme: BiasScheme, read_volts: float) -> CellRun:
        """One cell's in-instrument write-verify reply (its times relative to ``t0``) as a run, counted."""
        self.counts["pulse"] += len(res.pulses)
        self.counts["read"] += len(res.reads)
        sch = str(BiasScheme(scheme))
        return CellRun(CellStatus(res.status), res.g,
                       [PulseRecord(row, col, v, w, t0 + t, math.nan, sch) for v, w, t in res.pulses],
                       [ReadRecord(row, col, read_volts, i, t0 + t) for i, t in res.reads],
                       res.pol, res.amp, res.over_set)

    async def _sense(self, rows: Sequence[int], col: int, volts: float) -> float:
        """Current out of column ``col`` with ``rows`` at ``volts`` and every other line grounded, A."""
        await self._route(self.wiring.sense_plan(rows, col))
        drive, sense = self.wiring.drive.source, self.wiring.sense.source
        if drive is None or sense is None:
            raise ConfigError.invalid(f"crossbars.{self.name}.wiring", "drive/sense on ground", "SMU channels")
        if drive[0] == sense[0] and hasattr(self._smu(drive), "read_pair"):
            into_sense = await self._smu(drive).read_pair(drive[1], volts, sense[1])
        else:
            d, s = self._smu(drive), self._smu(sense)
            d.limits.check_read(volts)
            await s.set_voltage(0.0, sense[1])
            await s.output(True, sense[1])
            await d.set_voltage(volts, drive[1])
            await d.output(True, drive[1])
            await d.sync()
            into_sense = await s.measure_current(sense[1])
            await d.output(False, drive[1])
            await s.output(False, sense[1])
            await d.sync()
            await s.sync()
        self.counts["read"] += 1
        return float(-into_sense)

    async def _read_equipotential(self, row: int, col: int, volts: float) -> float | None:
        plan = self.wiring.equipotential_plan(row, col)
        drive = self.wiring.drive.source
        if plan is None or drive is None:
            return None
        smu = self._smu(drive)
        if not hasattr(smu, "read_with_bias"):
            return None
        await self._route(plan)
        self.counts["read"] += 1
        return float(await smu.read_with_bias(drive[1], volts, self._read_biases()))

    async def read(self, row: int, cols: Sequence[int], volts: float) -> list[ReadRecord]:
        cols = list(cols)
        self._check_cells(row, cols)
        self.limits.check_read(volts)

        async def run() -> list[ReadRecord]:
            out = []
            for c in cols:
                current = await self._read_equipotential(row, c, volts)
                if current is None:
                    current = await self._sense([row], c, volts)
                out.append(ReadRecord(row, c, volts, current, self.now()))
            return out

        return await self._guarded("read", run)

    async def infer(self, row_volts: Sequence[float], cols: Sequence[int] | None = None) -> list[float]:
        volts = [float(v) for v in row_volts]
        if len(volts) != self.rows:
            raise ConfigError.invalid("row_volts", f"{len(volts)} values", f"exactly {self.rows} (one per row)")
        for v in volts:
            self.limits.check_read(v)
        sel = list(range(self.cols)) if cols is None else list(cols)
        for c in sel:
            if not 0 <= c < self.cols:
                raise ConfigError.out_of_range("col", c, 0, self.cols - 1)
        groups: dict[float, list[int]] = {}
        for i, v in enumerate(volts):
            if v != 0.0:
                groups.setdefault(v, []).append(i)

        async def run() -> list[float]:
            totals = [0.0] * len(sel)
            for level, rows in groups.items():
                for k, c in enumerate(sel):
                    totals[k] += await self._sense(rows, c, level)
            return totals

        return await self._guarded("infer", run)

    async def wait(self, seconds: float) -> None:
        """Bench time passes with every output off (see :meth:`Bench.wait`)."""
        await self._guarded("wait", lambda: self._bench.wait(seconds))

    async def safe_state(self) -> None:
        await self._bench.safe_state(reason=f"{self.name}.safe_state requested")

    async def snapshot(self) -> dict[str, Any]:
        snap = await self._bench.snapshot()
        snap["crossbar"] = {"name": self.name, "rows": self.rows, "cols": self.cols}
        return snap
