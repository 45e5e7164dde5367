"""The per-cell write-verify state machine (incremental step pulse programming), free of I/O.

One ``CellProgram`` per cell. Feed it each verify reading with :meth:`CellProgram.observe`; it answers
either a final status or the next pulse (signed volts, width). Rules:

* in band ``|G - target| <= abs_tol + rel_tol * target``: converged;
* G below the band: SET pulses (positive), G above: RESET pulses (negative);
* within one polarity the amplitude grows by its step up to its cap, then further pulses stay at the
  cap with the width growing by ``width_growth`` per pulse, at most ``max_at_cap`` of them;
* each polarity starts from its own width (``widths``, default ``s.width`` for both): e.g. SET with a 50 µs SMU
  pulse and gradual RESET with 50 ns generator pulses;
* a change of polarity is a reversal (at most ``max_reversals``). Each polarity remembers the largest
  amplitude that left the cell short of the band and the smallest that overshot it; re-entering a
  polarity (and stepping within it) bisects between the two instead of ramping from the start. This
  suits filamentary cells whose RESET self-limits at a gap set by the amplitude (g*(V)): the
  amplitude that lands in band is found in a few halvings, each costing one SET back;
* optional coarse RESET (``coarse``): while G is above ``coarse.above``, RESET pulses are coarse ones (their own
  start, step and width: long SMU pulses, which move a cell in LRS that a 50 ohm generator cannot); once G is
  below, fine RESET pulses take over (not a reversal). The next coarse phase starts one step below the amplitude
  that last brought the cell into the fine range, and one step below any coarse amplitude that overshot;
* optional hold (``hold``): a fine RESET pulse that fell short but lowered G by more than this fraction is
  repeated at the same amplitude (gradual RESET with short pulses: the cell creeps towards the floor the
  amplitude sets, so the amplitude rises only once it stalls);
* out of pulses, reversals or cap pulses: stuck when G never moved by more than ``stuck_rel``
  (relative), failed otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from labctl.core.records import CellStatus
from labctl.core.writeverify import IsppSettings

COARSE = -2  # key of the coarse RESET phase in the per-phase tables (1: SET, -1: fine RESET)


@dataclass(frozen=True)
class CoarseReset:
    """Coarse RESET while G > ``above`` (S): amplitudes (magnitudes, V) from ``start`` by ``step``, ``width`` s."""

    above: float
    start: float
    step: float
    width: float


class CellProgram:
    """Write-verify of one cell to ``target`` siemens."""

    def __init__(self, row: int, col: int, target: float, s: IsppSettings,
                 start: dict[int, float] | None = None, widths: dict[int, float] | None = None,
                 coarse: CoarseReset | None = None, hold: float | None = None) -> None:
        """``start`` overrides the first amplitude per polarity (1: SET, -1: RESET), e.g. a warm start learned
        from cells already programmed to the same target; ``widths`` the first width per polarity; ``coarse`` adds
        a coarse RESET phase for cells above ``coarse.above``; ``hold`` repeats fine RESET amplitudes that still
        move the cell."""
        self.row, self.col, self.target, self.s = row, col, target, s
        self.coarse, self.hold = coarse, hold
        self.start = {1: s.set_start, -1: s.reset_start, **(start or {})}
        self.widths = {1: s.width, -1: s.width, **(widths or {})}
        self.coarse_hit: float | None = None  # coarse amplitude that last brought the cell into the fine range
        tol = s.abs_tol + s.rel_tol * target
        self.lo, self.hi = target - tol, target + tol
        self.pol = 0
        self.amp = 0.0
        self.width = s.width
        self.at_cap = 0
        self.reversals = 0
        self.pulses = 0
        self.g = float("nan")
        self.g_lo = float("inf")
        self.g_hi = float("-inf")
        self.step = {1: s.set_step, -1: s.reset_step}
        self.short: dict[int, float | None] = {1: None, -1: None}  # largest amplitude that fell short
        self.over: dict[int, float | None] = {1: None, -1: None}  # smallest amplitude that overshot
        self.descents = {1: 0, -1: 0}  # restarts below an overshoot with no lower bound yet
        if coarse is not None:
            self.start[COARSE], self.widths[COARSE], self.step[COARSE] = coarse.start, coarse.width, coarse.step
            self.short[COARSE] = self.over[COARSE] = None
            self.descents[COARSE] = 0
        self.status: CellStatus = CellStatus.PENDING

    def in_band(self, g: float) -> bool:
        return self.lo <= g <= self.hi

    def observe(self, g: float) -> tuple[float, float] | None:
        """Take a verify reading (S). Return the next pulse (signed volts, width) or None when final."""
        last, self.g = self.g, g
        if g == g:  # not NaN
            self.g_lo, self.g_hi = min(self.g_lo, g), max(self.g_hi, g)
        if self.in_band(g):
            self.status = CellStatus.CONVERGED
            return None
        if self.pulses >= self.s.max_pulses:
            self._give_up()
            return None
        want = 1 if g < self.lo else -1
        sign = want
        if want == -1 and self.coarse is not None and g > self.coarse.above:
            want = COARSE
        start, cap = self.start[want], (self.s.set_cap if want == 1 else self.s.reset_cap)
        if want != self.pol:
            if self.pol == COARSE and want == -1:  # the coarse RESET reached the fine range: not a reversal
                self.coarse_hit = self.amp
            elif self.pol != 0:  # the last pulse overshot
                self._bound(self.over, self.pol, self.amp, min)
                self.reversals += 1
                if self.reversals > self.s.max_reversals:
                    self._give_up()
                    return None
            self.pol = want
            self.width = self.widths[want]
            self.at_cap = 0
            lo, hi = self.short[want], self.over[want]
            bisect = self._bisects(want)
            if want == COARSE:
                amp = start if self.coarse_hit is None else max(start, self.coarse_hit - self.step[want])
                self.amp = amp if hi is None else max(min(amp, hi - self.step[want]), self.step[want])
            elif hi is None:
                self.amp = start if lo is None else min(cap, lo + self.step[want])
            elif not bisect:
                self.amp = hi  # repeat the amplitude that switched (abrupt SET)
            elif lo is None:
                self.amp = max(0.5 * start, hi - self.step[want] * 2 ** self.descents[want])
                self.descents[want] += 1
            else:
                self.amp = 0.5 * (lo + hi)
        elif want == -1 and self.hold is not None and g < last * (1.0 - self.hold):
            pass  # fell short but still moving: the same fine RESET pulse again
        else:  # the last pulse fell short
            self._bound(self.short, want, self.amp, max)
            hi = self.over[want] if self._bisects(want) else None
            nxt = min(self.amp + self.step[want], cap)
            if hi is not None:
                nxt = min(nxt, 0.5 * (self.amp + hi)) if hi - self.amp >= self.s.min_step else self.amp
            if nxt - self.amp < 0.5 * self.s.min_step:  # at the cap or against a known overshoot
                self.at_cap += 1
                if self.at_cap > self.s.max_at_cap:
                    self._give_up()
                    return None
                self.width = min(self.width * self.s.width_growth, self.s.width_max)
            self.amp = nxt
        self.pulses += 1
        return (sign * self.amp, self.width)

    def _bisects(self, key: int) -> bool:
        if key == COARSE:
            return False
        return self.s.bisect_set if key == 1 else self.s.bisect_reset

    def _bound(self, table: dict[int, float | None], pol: int, amp: float, pick: object) -> None:
        old = table[pol]
        table[pol] = amp if old is None else (min(old, amp) if pick is min else max(old, amp))
        lo, hi = self.short[pol], self.over[pol]
        if lo is not None and hi is not None and lo >= hi:  # contradicting history (noise): forget the stale side
            if pick is min:
                self.short[pol] = None
            else:
                self.over[pol] = None

    def _give_up(self) -> None:
        moved = self.g_hi / self.g_lo - 1.0 if self.g_lo > 0 else float("inf")
        self.status = CellStatus.STUCK if moved <= self.s.stuck_rel else CellStatus.FAILED
        return None
