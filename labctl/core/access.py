"""``CrossbarAccess``: cell-level operations on a crossbar, the capability protocols program against.

A bench (real or simulated) implements it by routing its SMUs through its switch matrix
(``labctl.bench``); tests may implement it directly. Voltages are cell voltages
``V_row - V_col``: positive programs towards SET (lower resistance), negative towards RESET.
Rows and columns are 0-based array indices.

Optional capabilities, which protocols use when a bench has them and do without otherwise:

* :class:`PulseAndRead`: a pulse and the verify read of the same cells as one operation (on an instrument bench
  one program message and one round trip instead of two).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from labctl.core.limits import SafetyLimits
from labctl.core.records import PulseRecord, ReadRecord


class BiasScheme(StrEnum):
    """How unselected lines are biased while a cell is pulsed."""

    HALF = "v/2"  # unselected rows and columns at V/2
    THIRD = "v/3"  # unselected rows at V/3, unselected columns at 2V/3
    FLOATING = "floating"  # unselected lines left floating
    GROUNDED = "grounded"  # unselected lines grounded


@runtime_checkable
class CrossbarAccess(Protocol):
    """Pulse, read and infer on the cells of one crossbar; limits enforced before anything is sent."""

    rows: int
    cols: int
    limits: SafetyLimits

    def now(self) -> float:
        """Bench time in seconds (virtual on a simulated bench)."""
        ...

    async def pulse(
        self, row: int, cols: Sequence[int], volts: float, width: float, scheme: BiasScheme = BiasScheme.HALF,
        *, compliance: float | None = None,
    ) -> list[PulseRecord]:
        """One pulse on the listed cells of ``row`` at once (a single column is the usual case). ``compliance``:
        the drive source's current limit for this pulse, A (at most its configured compliance; None: that
        compliance), e.g. a compliance-limited SET; the configured one is back after the pulse."""
        ...

    async def read(self, row: int, cols: Sequence[int], volts: float) -> list[ReadRecord]:
        """Read the listed cells of ``row`` at ``volts`` (|volts| <= read clamp), others grounded."""
        ...

    async def infer(self, row_volts: Sequence[float], cols: Sequence[int] | None = None) -> list[float]:
        """Drive every row to its voltage (each within the read clamp), hold columns at 0 V, return the
        current of each listed column (all by default), amps."""
        ...

    async def wait(self, seconds: float) -> None:
        """Let ``seconds`` of bench time pass with no cell biased (retention, relaxation): virtual time on a
        simulated bench (the physics idles, relaxation acts), a real sleep on a real bench. ``seconds <= 0``
        returns at once."""
        ...

    async def safe_state(self) -> None:
        """Outputs off and relays open."""
        ...

    async def snapshot(self) -> dict[str, Any]:
        """Identities, settings, limits (and sim preset/seed) for the run's journal."""
        ...


@runtime_checkable
class PulseAndRead(Protocol):
    """Optional capability: pulse cells, then read them back, as one operation."""

    async def pulse_and_read(
        self, row: int, cols: Sequence[int], volts: float, width: float, scheme: BiasScheme, read_volts: float,
        *, compliance: float | None = None,
    ) -> tuple[list[PulseRecord], list[ReadRecord]]:
        """:meth:`CrossbarAccess.pulse` then :meth:`CrossbarAccess.read` of the same ``cols`` at ``read_volts``
        (same limits, same records); a bench that cannot combine them for these cells does the two in turn."""
        ...
