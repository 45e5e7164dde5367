"""The current limit of SET pulses on one row of a passive array (``program``'s ``set_compliance`` and
``set_headroom``).

With V/2 the drive feeds the selected cell and the row's 63 half-selected cells; the latter draw a load that differs
from row to row (a stuck-ON cell there draws milliamps). A fixed limit either folds the pulse below the SET threshold
(limit below the load) or lets the switching cell take everything above the load. Limiting each SET pulse to the
row's measured load plus a headroom leaves the switching cell about the headroom, i.e. sets its LRS.
"""

from __future__ import annotations

import math

from labctl.core.records import PulseRecord


class RowLoad:
    """The SET pulses' current limit on one row: ``set_compliance``, or with ``set_headroom`` the row's load plus
    the headroom (the headroom alone until a load is known: the pulse folds, its current, the limit, counts as
    load, and the limit grows by the headroom per pulse until it passes the load). The load is the drive current
    of a SET pulse whose cell did not switch (its next read stayed below twice the read before it), scaled
    linearly to a new amplitude (the load grows faster than that; the next non-switching pulse measures it
    again)."""

    SWITCHED = 2.0  # a read this many times the one before the pulse: the cell switched, the current was not load

    def __init__(self, cap: float | None, headroom: float | None) -> None:
        self.cap, self.headroom = cap, headroom
        self.load: tuple[float, float] | None = None  # (volts, amps) of the last non-switching SET pulse
        self.pending: dict[int, tuple[float, float]] = {}  # col -> (volts, amps) of its SET pulse awaiting a read
        self.before: dict[int, float] = {}  # col -> its last read, S

    def limit(self, volts: float) -> float | None:
        if volts <= 0 or self.cap is None:
            return None
        if self.headroom is None:
            return self.cap
        if self.load is None:  # unknown load: the headroom alone; a folded pulse measures the load it reached
            return min(self.cap, self.headroom)
        v0, i0 = self.load
        return min(self.cap, i0 * volts / v0 + self.headroom)

    def pulsed(self, cols: list[int], volts: float, pulses: list[PulseRecord]) -> None:
        if volts > 0 and len(cols) == 1 and len(pulses) == 1 and math.isfinite(pulses[0].current):
            self.pending[cols[0]] = (volts, abs(pulses[0].current))

    def seen(self, col: int, g: float) -> None:
        hit = self.pending.pop(col, None)
        if hit is not None and g < self.SWITCHED * self.before.get(col, math.inf):
            self.load = hit
        self.before[col] = g

