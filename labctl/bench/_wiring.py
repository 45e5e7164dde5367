"""Resolved wiring of one crossbar and the relay states for each operation (pure functions, no I/O)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from labctl.core.access import BiasScheme
from labctl.core.config import BenchConfig, CrossbarConfig, InputWiring, Role
from labctl.core.errors import ConfigError

Point = tuple[int, int]
Source = tuple[str, int]  # (instrument, channel)


@dataclass(frozen=True)
class Feed:
    """A matrix input and what feeds it (None: ground)."""

    input: int
    source: Source | None


def _pick(inputs: Sequence[InputWiring], *roles: Role) -> Feed | None:
    for role in roles:
        for w in inputs:
            if role in w.roles:
                return Feed(w.input, None if role == Role.GROUND or w.source is None else (w.source, w.channel))
    return None


@dataclass(frozen=True)
class Wiring:
    """Where each crossbar line lands on the matrix, and which input serves each role."""

    name: str
    rows: int
    cols: int
    matrices: tuple[tuple[str, int], ...]  # (mainframe, its outputs), in output-numbering order
    first_row: int
    first_col: int
    drive: Feed
    sense: Feed
    ground: Feed
    bias_row: Feed
    bias_col_half: Feed
    bias_col_third: Feed | None
    pulse: Feed | None = None  # a generator channel: the selected row of every programming pulse
    pulse_bias: Feed | None = None  # a generator channel: unselected lines at V/2 during generator pulses
    columns: tuple[Feed, ...] = ()  # SMU channels of parallel write-verify, one selected column each
    _plans: dict[tuple[object, ...], frozenset[Point]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False)
    _splits: dict[frozenset[Point], tuple[tuple[str, frozenset[Point]], ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False)

    def _cached(self, key: tuple[object, ...], build: Callable[[], set[Point]]) -> frozenset[Point]:
        """Relay plans are pure functions of their arguments: built once (bounded), then shared."""
        plan = self._plans.get(key)
        if plan is None:
            plan = frozenset(build())
            if len(self._plans) < 65536:
                self._plans[key] = plan
        return plan

    @classmethod
    def of(cls, name: str, xb: CrossbarConfig, config: BenchConfig) -> Wiring:
        w = xb.wiring
        frames = tuple((m, config.instruments[m].outputs) for m in w.matrices)
        drive, sense, ground = _pick(w.inputs, Role.DRIVE), _pick(w.inputs, Role.SENSE), _pick(w.inputs, Role.GROUND)
        bias_row = _pick(w.inputs, Role.BIAS_ROW, Role.BIAS)
        if drive is None or sense is None or ground is None or bias_row is None:
            raise ConfigError.invalid(f"crossbars.{name}.wiring.inputs", "roles", "drive, sense, ground and bias")
        bias_half = _pick(w.inputs, Role.BIAS, Role.BIAS_COL, Role.BIAS_ROW)
        third = _pick(w.inputs, Role.BIAS_COL)
        if third is not None and third.input == bias_row.input:
            third = None
        columns = tuple(Feed(i.input, (i.source, i.channel)) for i in w.inputs
                        if Role.COLUMN in i.roles and i.source is not None)
        return cls(name, xb.rows, xb.cols, frames, w.rows.first_output, w.cols.first_output, drive, sense,
                   ground, bias_row, bias_half or bias_row, third, _pick(w.inputs, Role.PULSE),
                   _pick(w.inputs, Role.PULSE_BIAS), columns)

    @property
    def matrix_names(self) -> tuple[str, ...]:
        return tuple(m for m, _ in self.matrices)

    def local(self, output: int) -> tuple[str, int]:
        """(mainframe, its own output number) of crossbar-wiring output ``output``."""
        for m, n in self.matrices:
            if output <= n:
                return m, output
            output -= n
        raise ConfigError.out_of_range("output", output, 1, sum(n for _, n in self.matrices))

    def lines_on(self) -> dict[str, set[int]]:
        """Per mainframe: its outputs that carry a line of this crossbar."""
        out: dict[str, set[int]] = {m: set() for m in self.matrix_names}
        for o in [self.row_out(i) for i in range(self.rows)] + [self.col_out(j) for j in range(self.cols)]:
            m, k = self.local(o)
            out[m].add(k)
        return out

    def split(self, points: frozenset[Point]) -> tuple[tuple[str, frozenset[Point]], ...]:
        """``points`` (crossbar-wiring outputs) as each mainframe's own crosspoints, every mainframe listed."""
        hit = self._splits.get(points)
        if hit is not None:
            return hit
        parts: dict[str, set[Point]] = {m: set() for m in self.matrix_names}
        for inp, o in points:
            m, k = self.local(o)
            parts[m].add((inp, k))
        result = tuple((m, frozenset(p)) for m, p in parts.items())
        if len(self._splits) < 65536:
            self._splits[points] = result
        return result

    def row_out(self, i: int) -> int:
        return self.first_row + i

    def col_out(self, j: int) -> int:
        return self.first_col + j

    def sources(self) -> set[Source]:
        feeds = [self.drive, self.sense, self.bias_row, self.bias_col_half, self.bias_col_third]
        return {f.source for f in feeds if f is not None and f.source is not None}

    # --- relay states ------------------------------------------------------------------------------------
    def pulse_plan(self, row: int, cols: Sequence[int], volts: float, scheme: BiasScheme
                   ) -> tuple[frozenset[Point], dict[Source, float]]:
        """Relays and source peaks for a pulse on ``cols`` of ``row``; selected columns grounded."""
        scheme = BiasScheme(scheme)
        bias = self._bias(scheme, volts)
        feeds = None if bias is None else (bias[0][0], bias[1][0])
        pts = self._cached(("pulse", row, tuple(cols), scheme), lambda: self._pulse_points(row, cols, feeds))
        levels: dict[Source, float] = {self.drive.source: volts} if self.drive.source else {}
        for feed, v in bias or ():
            if feed.source is not None:
                levels[feed.source] = v
        return pts, levels

    def generator_plan(self, row: int, cols: Sequence[int], volts: float, scheme: BiasScheme
                       ) -> tuple[frozenset[Point], dict[Source, float]]:
        """Relays and generator peaks for a pulse from the ``pulse`` input: the selected row on it, the selected
        columns grounded; unselected lines on the ``pulse_bias`` input at V/2 (V/2), grounded or floating."""
        scheme = BiasScheme(scheme)
        if self.pulse is None or self.pulse.source is None:
            raise ConfigError.invalid(f"crossbars.{self.name}.wiring", "no 'pulse' input", "a generator channel")
        bias: Feed | None = None
        if scheme == BiasScheme.HALF:
            bias = self.pulse_bias
            if bias is None or bias.source is None:
                raise ConfigError.invalid("scheme", str(scheme), "'floating' or 'grounded' (V/2 with the generator "
                                          "needs a 'pulse_bias' input on a second generator channel)")
        elif scheme == BiasScheme.GROUNDED:
            bias = self.ground
        elif scheme == BiasScheme.THIRD:
            raise ConfigError.invalid("scheme", str(scheme), "'v/2', 'floating' or 'grounded' with the generator")
        pulse, source = self.pulse, self.pulse.source

        def build() -> set[Point]:
            sel = set(cols)
            pts: set[Point] = {(pulse.input, self.row_out(row))} | {(self.ground.input, self.col_out(j)) for j in sel}
            if bias is not None:
                pts |= {(bias.input, self.row_out(i)) for i in range(self.rows) if i != row}
                pts |= {(bias.input, self.col_out(j)) for j in range(self.cols) if j not in sel}
            return pts

        levels: dict[Source, float] = {source: volts}
        if scheme == BiasScheme.HALF and bias is not None and bias.source is not None:
            levels[bias.source] = volts / 2
        return self._cached(("gen", row, tuple(cols), scheme), build), levels

    def _bias(self, scheme: BiasScheme, volts: float) -> tuple[tuple[Feed, float], tuple[Feed, float]] | None:
        """(feed, level) of the unselected rows and of the unselected columns for a pulse of ``volts``; None when
        they float."""
        if scheme == BiasScheme.FLOATING:
            return None
        if scheme == BiasScheme.GROUNDED:
            return (self.ground, 0.0), (self.ground, 0.0)
        if scheme == BiasScheme.HALF:
            return (self.bias_row, volts / 2), (self.bias_col_half, volts / 2)
        if self.bias_col_third is None:
            raise ConfigError.invalid(f"crossbars.{self.name}.wiring", "no bias_col input",
                                      "a 'bias_col' input on another source for the V/3 scheme")
        return (self.bias_row, volts / 3), (self.bias_col_third, 2 * volts / 3)

    def _pulse_points(self, row: int, cols: Sequence[int], feeds: tuple[Feed, Feed] | None) -> set[Point]:
        sel = set(cols)
        pts: set[Point] = {(self.drive.input, self.row_out(row))}
        pts |= {(self.ground.input, self.col_out(j)) for j in sel}
        if feeds is None:
            return pts
        row_feed, col_feed = feeds
        pts |= {(row_feed.input, self.row_out(i)) for i in range(self.rows) if i != row}
        pts |= {(col_feed.input, self.col_out(j)) for j in range(self.cols) if j not in sel}
        return pts

    def equipotential_plan(self, row: int, col: int) -> frozenset[Point] | None:
        """Read relays: ``row`` on drive, ``col`` grounded, every other line on the bias input(s) at the read
        voltage, so only the selected cell carries the drive current. The same relays as a V/2 pulse on that
        cell: a verify read after a pulse moves no relay. None when drive and bias are not on one instrument."""
        d, br, bc = self.drive.source, self.bias_row.source, self.bias_col_half.source
        if d is None or br is None or bc is None or not d[0] == br[0] == bc[0]:
            return None

        def build() -> set[Point]:
            pts = {(self.drive.input if i == row else self.bias_row.input, self.row_out(i))
                   for i in range(self.rows)}
            pts |= {(self.ground.input if j == col else self.bias_col_half.input, self.col_out(j))
                    for j in range(self.cols)}
            return pts

        return self._cached(("equi", row, col), build)

    def group_plan(self, row: int, cols: Sequence[int]) -> frozenset[Point]:
        """Parallel write-verify relays: ``row`` grounded, ``cols[k]`` on the k-th column input, every other line
        on the bias input. With the bias at the columns' read level only the selected cells carry column current
        (each column channel reads its own cell); during a pulse the bias sits at half the amplitude (V/2)."""
        if not 1 <= len(cols) <= len(self.columns):
            raise ConfigError.out_of_range("cols", len(cols), 1, len(self.columns), "cells per group")

        def build() -> set[Point]:
            pts = {(self.ground.input if i == row else self.bias_row.input, self.row_out(i))
                   for i in range(self.rows)}
            chan = {c: self.columns[k].input for k, c in enumerate(cols)}
            pts |= {(chan.get(j, self.bias_row.input), self.col_out(j)) for j in range(self.cols)}
            return pts

        return self._cached(("group", row, tuple(cols)), build)

    def sense_plan(self, rows: Sequence[int], col: int) -> frozenset[Point]:
        """``rows`` on the drive input, ``col`` on the sense input, every other line grounded."""

        def build() -> set[Point]:
            driven = set(rows)
            pts = {(self.drive.input if i in driven else self.ground.input, self.row_out(i))
                   for i in range(self.rows)}
            pts |= {(self.sense.input if j == col else self.ground.input, self.col_out(j)) for j in range(self.cols)}
            return pts

        return self._cached(("sense", tuple(sorted(set(rows))), col), build)


def third_bias_wired(name: str, config: BenchConfig) -> bool:
    """Whether crossbar ``name`` can be pulsed with the V/3 scheme: a ``bias_col`` source of its own, on another
    input than the rows' bias (what :class:`Wiring` takes as ``bias_col_third``)."""
    return Wiring.of(name, config.crossbars[name], config).bias_col_third is not None
