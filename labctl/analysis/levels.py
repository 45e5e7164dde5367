"""Per-level statistics of a multi-level programming run: how the final conductances of the cells programmed to
each target level are spread, and how many of them sit within the tolerance band (no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from labctl.core.records import CellOutcome


@dataclass(frozen=True)
class LevelStats:
    """The cells of one target level (S): counts, final conductance mean/std/min/max (S), pulses per cell, and a
    histogram of the final conductances (``counts`` per bin between ``edges``, S)."""

    target: float
    cells: int
    converged: int
    within: int  # final |G - target| <= abs_tol + rel_tol * target
    mean: float
    std: float
    min: float
    max: float
    pulses_mean: float
    edges: list[float]
    counts: list[int]

    @property
    def within_fraction(self) -> float:
        return self.within / self.cells if self.cells else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "within_fraction": self.within_fraction}


def level_stats(outcomes: Iterable[CellOutcome], abs_tol: float, rel_tol: float,
                pulses: Mapping[tuple[int, int], int] | None = None, bins: int = 12,
                max_levels: int = 64) -> list[LevelStats]:
    """One :class:`LevelStats` per distinct target (ascending); empty when there are more than ``max_levels``
    distinct targets (an analog map, not levels). ``pulses`` (cell -> pulses) defaults to each outcome's count;
    each level's histogram spans its tolerance band widened to twice its size, cells outside fall in the end bins."""
    outs = [o for o in outcomes if np.isfinite(o.target)]
    levels = sorted({float(o.target) for o in outs})
    if not levels or len(levels) > max_levels:
        return []
    out = []
    for t in levels:
        mine = [o for o in outs if float(o.target) == t]
        g = np.array([o.conductance for o in mine], dtype=np.float64)
        tol = abs_tol + rel_tol * t
        finite = g[np.isfinite(g)]
        edges = np.linspace(t - 2 * tol, t + 2 * tol, bins + 1)
        counts = np.histogram(np.clip(finite, edges[0], edges[-1]), edges)[0] if finite.size else np.zeros(bins)
        npulses = [(pulses or {}).get((o.row, o.col), o.pulses) for o in mine]
        out.append(LevelStats(
            target=t, cells=len(mine), converged=sum(1 for o in mine if str(o.status) == "converged"),
            within=int((np.abs(finite - t) <= tol).sum()),
            mean=float(finite.mean()) if finite.size else float("nan"),
            std=float(finite.std()) if finite.size else float("nan"),
            min=float(finite.min()) if finite.size else float("nan"),
            max=float(finite.max()) if finite.size else float("nan"),
            pulses_mean=float(np.mean(npulses)) if npulses else float("nan"),
            edges=[float(x) for x in edges], counts=[int(x) for x in counts]))
    return out
