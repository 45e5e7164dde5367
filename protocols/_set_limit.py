"""The current limit of SET pulses on one row of a passive array (``program``'s ``set_compliance`` and
``set_headroom``).

With V/2 the drive feeds the selected cell and the row's 63 half-selected cells; the latter draw a load that differs
from row to row (a stuck-ON cell there draws milliamps). A fixed limit either folds the pulse below the SET threshold
(limit below the load) or lets the switching cell take everything above the load. Limiting each SET pulse to the
row's measured load plus a headroom leaves the switching cell about the headroom, i.e. sets its LRS.

The LRS a compliance-limited SET reaches grows with the current the cell gets, so a headroom that suits one row
overshoots (or undershoots) on another; with ``track`` the row's headroom follows the landings: a SET that switched
its cell under the limit and landed outside the target band scales the headroom by target / landed (at most 4x per
pulse, within 1/4..4 of the configured headroom). A verify cycle on an abruptly switching chip (SET overshoots,
RESET drops the cell back below the band) then converges instead of repeating the same overshoot.
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
    STEP = (0.25, 4.0)  # bounds of one headroom correction
    RANGE = (0.25, 4.0)  # bounds of the row's headroom, in units of the configured one

    def __init__(self, cap: float | None, headroom: float | None, track: bool = False) -> None:
        self.cap, self.headroom, self.track = cap, headroom, track
        self.scale = 1.0  # the row's headroom, in units of the configured one (``track``)
        self.load: tuple[float, float] | None = None  # (volts, amps) of the last non-switching SET pulse
        self.pending: dict[int, tuple[float, float, bool]] = {}  # col -> (volts, amps, limited) of its SET pulse
        self.before: dict[int, float] = {}  # col -> its last read, S

    def limit(self, volts: float) -> float | None:
        if volts <= 0 or self.cap is None:
            return None
        if self.headroom is None:
            return self.cap
        room = self.headroom * self.scale
        if self.load is None:  # unknown load: the headroom alone; a folded pulse measures the load it reached
            return min(self.cap, room)
        v0, i0 = self.load
        return min(self.cap, i0 * volts / v0 + room)

    def pulsed(self, cols: list[int], volts: float, pulses: list[PulseRecord], limit: float | None) -> None:
        """A pulse of ``volts`` on ``cols`` ran under ``limit`` (None: no current limit)."""
        if volts > 0 and len(cols) == 1 and len(pulses) == 1 and math.isfinite(pulses[0].current):
            self.pending[cols[0]] = (volts, abs(pulses[0].current), limit is not None)

    def seen(self, col: int, g: float, band: tuple[float, float, float] | None = None) -> None:
        """The verify read ``g`` of ``col`` after its pulse; ``band``: (low, target, high) of the cell, S (for
        ``track``)."""
        hit = self.pending.pop(col, None)
        before = self.before.get(col, math.inf)
        self.before[col] = g
        if hit is None:
            return
        volts, amps, limited = hit
        if g < self.SWITCHED * before:
            self.load = (volts, amps)
        elif self.track and band is not None and limited and not band[0] <= g <= band[2]:
            step = min(max(band[1] / g, self.STEP[0]), self.STEP[1])
            self.scale = min(max(self.scale * step, self.RANGE[0]), self.RANGE[1])

