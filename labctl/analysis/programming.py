"""Pure statistics of a programming run, computed from journal arrays (no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from labctl.core.records import CellOutcome


@dataclass(frozen=True)
class ProgramStats:
    """What a write-verify run achieved, counted from its pulses, reads and outcomes."""

    cells: int
    converged: int
    failed: int
    stuck: int
    pulses_total: int
    pulses_per_cell: dict[str, float]  # mean, p50, p90, p99, max (over cells with an outcome)
    pulse_histogram: dict[int, int]  # pulses -> number of cells
    rel_error: dict[str, float]  # |G - target| / target of converged cells: mean, p50, p99, max
    reads_total: int

    @property
    def converged_fraction(self) -> float:
        return self.converged / self.cells if self.cells else float("nan")

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["converged_fraction"] = self.converged_fraction
        d["pulse_histogram"] = {str(k): v for k, v in self.pulse_histogram.items()}
        return d


def _quantiles(x: np.ndarray) -> dict[str, float]:
    if x.size == 0:
        return {k: float("nan") for k in ("mean", "p50", "p90", "p99", "max")}
    return {"mean": float(x.mean()), "p50": float(np.percentile(x, 50)), "p90": float(np.percentile(x, 90)),
            "p99": float(np.percentile(x, 99)), "max": float(x.max())}


def pulses_per_cell(events: Mapping[str, np.ndarray], kind: str = "program") -> dict[tuple[int, int], int]:
    """Pulses of ``kind`` per cell from journal event arrays (``type``, ``row``, ``col``, ``kind``)."""
    sel = (events["type"] == "pulse") & (events["kind"] == kind)
    counts: dict[tuple[int, int], int] = {}
    for r, c in zip(events["row"][sel].tolist(), events["col"][sel].tolist(), strict=True):
        counts[(r, c)] = counts.get((r, c), 0) + 1
    return counts


def program_stats(events: Mapping[str, np.ndarray], outcomes: Iterable[CellOutcome]) -> ProgramStats:
    """Convergence, pulse distribution (all attempts, from the journal) and final error."""
    outs = list(outcomes)
    per_cell = pulses_per_cell(events)
    pulses = np.array([per_cell.get((o.row, o.col), 0) for o in outs], dtype=np.int64)
    conv = [o for o in outs if str(o.status) == "converged"]
    err = np.array([abs(o.conductance - o.target) / o.target for o in conv if o.target > 0])
    hist = {int(k): int(v) for k, v in zip(*np.unique(pulses, return_counts=True), strict=True)}
    e = _quantiles(err)
    e.pop("p90")
    return ProgramStats(
        cells=len(outs),
        converged=len(conv),
        failed=sum(1 for o in outs if str(o.status) == "failed"),
        stuck=sum(1 for o in outs if str(o.status) == "stuck"),
        pulses_total=int((events["type"] == "pulse").sum()),
        pulses_per_cell=_quantiles(pulses.astype(np.float64)),
        pulse_histogram=hist,
        rel_error=e,
        reads_total=int((events["type"] == "read").sum()),
    )


def pulses_after(
    events: Mapping[str, np.ndarray], cells: Iterable[tuple[int, int]], attempt: int
) -> dict[tuple[int, int], int]:
    """Pulses applied in attempts >= ``attempt`` to each of ``cells`` (a resume check: must be empty)."""
    want = set(cells)
    sel = (events["type"] == "pulse") & (events["attempt"] >= attempt)
    hits: dict[tuple[int, int], int] = {}
    for r, c in zip(events["row"][sel].tolist(), events["col"][sel].tolist(), strict=True):
        if (r, c) in want:
            hits[(r, c)] = hits.get((r, c), 0) + 1
    return hits


def max_read_volts(events: Mapping[str, np.ndarray], inferences: Iterable[Mapping[str, Any]] = ()) -> float:
    """Largest |V| any read or inference applied to a cell, from the journal (0 if none)."""
    reads = np.abs(events["volts"][events["type"] == "read"])
    peak = float(reads.max()) if reads.size else 0.0
    for inf in inferences:
        if inf["row_volts"]:
            peak = max(peak, float(np.max(np.abs(np.asarray(inf["row_volts"], dtype=np.float64)))))
    return peak
