"""Real pulse shapes on a crossbar: trapezoids with finite edges, and sources behind an output resistance.

A function generator's pulse is a trapezoid: ``width`` is measured between the 50 % points of its edges (as the
Keysight 33500B/33600A define it), each edge rises 10-90 % in its edge time. The physics integrates it as a
staircase: each edge is ``edge_steps`` equal slices held at the voltage of the slice's midpoint (for a linear ramp
the ramp's average), the top holds the peak for ``width - (lead + trail) / 2``. The model's switching speed grows
exponentially with voltage, so the edges of a 20 ns pulse with 8.4 ns edges carry a real share of the effect; the
staircase with 16 slices per edge reproduces a finely resolved ramp to under 1 % in gap change.

A generator drives its line through a 50 ohm output resistance: the line sits at ``V_oc - R * I``, which
:func:`loaded_levels` solves (Newton on each source's level, the array's non-linear I-V included).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from labctl.core.errors import ConfigError

Lines = Sequence[float | None]
IntArray = np.ndarray[Any, Any]
K = TypeVar("K")


@dataclass(frozen=True)
class Trapezoid:
    """A pulse: ``width`` (s, 50 %-to-50 %), leading and trailing edge times (s, 10-90 %)."""

    width: float
    lead: float = 0.0
    trail: float = 0.0
    edge_steps: int = 16

    def __post_init__(self) -> None:
        for name in ("width", "lead", "trail"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ConfigError.out_of_range(name, v, 0.0, None, "s")
        if not self.width > 0:
            raise ConfigError.out_of_range("width", self.width, 0.0, None, "s")
        if self.width < (self.lead + self.trail) / 2:
            half = (self.lead + self.trail) / 2
            raise ConfigError.invalid("width", self.width, f">= (lead + trail) / 2 = {half:g} s")

    @property
    def duration(self) -> float:
        """From the start of the leading edge to the end of the trailing edge, s (10-90 % edges as 0-100 %)."""
        return self.width + (self.lead + self.trail) / 2 / 0.8

    def steps(self) -> list[tuple[float, float]]:
        """(fraction of the peak, seconds) slices of the whole pulse, edges first and last."""
        out: list[tuple[float, float]] = []
        full_lead, full_trail = self.lead / 0.8, self.trail / 0.8  # 0-100 % ramp times
        n = self.edge_steps
        if full_lead > 0:
            out += [((k + 0.5) / n, full_lead / n) for k in range(n)]
        top = self.width - (full_lead + full_trail) / 2
        if top > 0:
            out.append((1.0, top))
        if full_trail > 0:
            out += [(1.0 - (k + 0.5) / n, full_trail / n) for k in range(n)]
        return out


def blend(idle: Lines, peak: Lines, fraction: float) -> list[float | None]:
    """Line voltages ``fraction`` of the way from ``idle`` to ``peak`` (floating lines stay floating)."""
    out: list[float | None] = []
    for a, b in zip(idle, peak, strict=True):
        if b is None:
            out.append(None)
        else:
            base = 0.0 if a is None else a
            out.append(base + fraction * (b - base))
    return out


def apply_shaped_pulse(xbar: Any, idle: tuple[Lines, Lines], peak: tuple[Lines, Lines], shape: Trapezoid,
                       count: int = 1, period: float | None = None) -> None:
    """``count`` trapezoid pulses from the ``idle`` line conditions to ``peak`` and back on crossbar ``xbar``; with
    ``period``, each pulse starts ``period`` s after the previous one and the lines sit at ``idle`` in between."""
    for k in range(count):
        for frac, dt in shape.steps():
            xbar.pulse(blend(idle[0], peak[0], frac), blend(idle[1], peak[1], frac), dt)
        rest = (period or 0.0) - shape.duration
        if rest > 0 and k < count - 1:
            if any(v for v in (*idle[0], *idle[1]) if v is not None):
                xbar.pulse(list(idle[0]), list(idle[1]), rest)
            else:
                xbar.idle(rest)


def loaded_levels(xbar: Any, rows: Lines, cols: Lines, sources: Mapping[K, tuple[IntArray, IntArray, float]],
                  r_out: float, iterations: int = 8, tol: float = 1e-7) -> dict[K, float]:
    """The level each source holds on its lines when it has open-circuit voltage ``v_oc`` behind ``r_out`` ohm.

    ``sources[key] = (row indices, column indices, v_oc)``; the other lines are as in ``rows``/``cols`` (None =
    floating). Solves ``V + r_out * I(V) = v_oc`` for every source at once (Newton with each source's own slope)."""
    voc = {k: float(s[2]) for k, s in sources.items()}
    if r_out == 0 or not sources:
        return voc

    def currents(levels: Mapping[K, float]) -> dict[K, float]:
        rr, cc = list(rows), list(cols)
        for key, (ri, ci, _) in sources.items():
            for i in ri:
                rr[int(i)] = levels[key]
            for j in ci:
                cc[int(j)] = levels[key]
        cur = np.asarray(xbar.array.current(xbar.cell_voltages(rr, cc)))
        return {key: float(cur[ri, :].sum()) - float(cur[:, ci].sum()) for key, (ri, ci, _) in sources.items()}

    v = dict(voc)
    for _ in range(iterations):
        i0 = currents(v)
        res = {k: v[k] + r_out * i0[k] - voc[k] for k in v}
        if max(abs(x) for x in res.values()) < tol:
            break
        for k in v:
            dv = 1e-4 if v[k] >= 0 else -1e-4
            moved = dict(v)
            moved[k] += dv
            slope = (currents(moved)[k] - i0[k]) / dv
            v[k] -= res[k] / (1.0 + r_out * max(slope, 0.0))
    return v
