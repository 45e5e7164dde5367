"""Write-verify inside the instrument: the optional :class:`CellProgrammer` capability and its types.

A bench whose drive SMU can run a cell's whole write-verify (ISPP) loop itself (a TSP instrument with labctl's
script loaded) offers :class:`CellProgrammer`; the ``program`` protocol then sends one operation per cell and gets
back every pulse and read it made (so the journal still holds each pulse) with the outcome. The rules of the loop
are those of :mod:`protocols._ispp`; :class:`IsppSettings` lives here so both sides share it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from labctl.core.access import BiasScheme
from labctl.core.records import CellStatus, PulseRecord, ReadRecord


@dataclass(frozen=True)
class IsppSettings:
    """Amplitudes in volts (magnitudes), widths in seconds, tolerances in siemens / fraction."""

    set_start: float
    set_step: float
    set_cap: float
    reset_start: float
    reset_step: float
    reset_cap: float
    width: float
    width_growth: float
    width_max: float
    max_at_cap: int
    max_pulses: int
    max_reversals: int
    min_step: float
    bisect_set: bool
    bisect_reset: bool
    abs_tol: float
    rel_tol: float
    stuck_rel: float


@dataclass(frozen=True)
class CellRun:
    """What one in-instrument write-verify of a cell did: every read (the first one, then one after each pulse)
    and pulse in order, the final status and conductance, and the loop's last state (polarity, amplitude, the
    smallest SET amplitude that overshot) for warm starts."""

    status: CellStatus
    conductance: float
    pulses: list[PulseRecord]
    reads: list[ReadRecord]
    pol: int = 0
    amp: float = 0.0
    over_set: float | None = None
    extra: dict[str, float] = field(default_factory=dict)


@dataclass
class WarmState:
    """Warm-start history (``protocols.program``): the last ``keep`` final RESET amplitudes of converged cells per
    target, the last SET amplitudes that overshot; a start is their median ``back`` steps lower."""

    keep: int
    back: int
    reset: dict[float, list[float]]
    set: list[float]


@runtime_checkable
class RowProgrammer(Protocol):
    """Optional capability: program several cells of one row in one operation (the instrument routes the matrix
    itself between cells), warm starts applied and learnt inside."""

    def cells_per_operation(self, scheme: BiasScheme) -> int:
        """How many cells one operation may hold (0: not available on this bench with ``scheme``)."""
        ...

    async def program_row(self, row: int, cols: list[int], targets: list[float], settings: IsppSettings,
                          warm: WarmState | None, scheme: BiasScheme, read_volts: float) -> list[CellRun]:
        """Write-verify ``cols`` of ``row`` to ``targets`` in order; limits checked before anything is sent."""
        ...


@runtime_checkable
class CellProgrammer(Protocol):
    """Optional capability: program one cell to a target inside the instrument (one operation per cell)."""

    def can_program_cells(self, scheme: BiasScheme) -> bool:
        """True when cells can be programmed this way with ``scheme`` on this bench."""
        ...

    async def program_cell(self, row: int, col: int, target: float, settings: IsppSettings,
                           start: dict[int, float] | None, scheme: BiasScheme, read_volts: float) -> CellRun:
        """Write-verify cell (row, col) to ``target`` siemens with ``settings`` (``start``: first amplitude per
        polarity, 1 SET / -1 RESET). Every limit is checked before anything is sent."""
        ...
