"""The sweep report's data: per-chip figures, per-variant summaries and the sweep's throughput.

``sweep_report(name, spec, chips, failed, wall_s)`` takes the chip results of a sweep record (dicts with
``chip``, ``variant``, ``seed``, ``attempt``, ``wall_s`` and ``metrics``) and returns a :class:`SweepReport`;
its JSON twin holds the same numbers as the HTML page (:mod:`labctl.report._sweep_html`).
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from labctl.store import RunStore

SWEEP_PROTOCOL = "sweep"
CHIP_RESULT = "sweep_chip"
CHIP_FAILED = "sweep_chip_failed"

#: metric key -> (label, unit scale, unit); the figures a sweep report summarises when the chips have them
METRICS: dict[str, tuple[str, float, str]] = {
    "yield": ("programming yield", 100.0, "%"),
    "pulses_per_cell": ("pulses per cell (mean over the chip)", 1.0, ""),
    "program_bench_s": ("programming time on the bench", 1.0, "s"),
    "wall_s": ("chip wall time (whole job)", 1.0, "s"),
    "accuracy_before": ("accuracy before retraining (measured)", 100.0, "%"),
    "accuracy_after": ("accuracy after retraining (measured)", 100.0, "%"),
}


class ChipRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chip: str
    variant: str
    seed: int
    attempt: int = Field(description="Run of the chip's job that completed it (2+ = retried after a crash)")
    runs: list[str]
    values: dict[str, float | None] = Field(description="METRICS keys -> value (SI units, fractions)")


class Summary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    variant: str
    metric: str
    n: int
    mean: float
    std: float
    min: float
    p10: float
    median: float
    p90: float
    max: float


class SweepReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    created: str
    name: str
    job: str
    spec: dict[str, Any]
    chips_total: int
    chips: list[ChipRow]
    failed: dict[str, str] = Field(default_factory=dict)
    summaries: list[Summary]
    wall_s: float = Field(description="Span of the sweep record (first driver start to last chip), s")
    chips_per_hour: float
    retried: list[str] = Field(default_factory=list, description="Chips that completed on a second or later try")
    notes: list[str] = Field(default_factory=list)

    def to_json(self) -> str:
        return self.model_dump_json(indent=1)

    @classmethod
    def from_json(cls, text: str) -> SweepReport:
        return cls.model_validate_json(text)

    def variants(self) -> list[str]:
        seen: dict[str, None] = {}
        for c in self.chips:
            seen.setdefault(c.variant)
        return list(seen)

    def values(self, metric: str, variant: str | None = None) -> np.ndarray:
        vals = [c.values.get(metric) for c in self.chips if variant is None or c.variant == variant]
        return np.array([v for v in vals if v is not None and math.isfinite(v)], dtype=np.float64)

    def metrics(self) -> list[str]:
        return [m for m in METRICS if self.values(m).size]


def _summary(variant: str, metric: str, v: np.ndarray) -> Summary:
    q = np.quantile(v, [0.1, 0.5, 0.9])
    return Summary(variant=variant, metric=metric, n=int(v.size), mean=float(v.mean()),
                   std=float(v.std(ddof=1)) if v.size > 1 else 0.0, min=float(v.min()), p10=float(q[0]),
                   median=float(q[1]), p90=float(q[2]), max=float(v.max()))


def sweep_report(name: str, spec: dict[str, Any], total: int, chips: list[dict[str, Any]], failed: dict[str, str],
                 wall_s: float, created: str) -> SweepReport:
    """The report of a sweep from its recorded chip results."""
    rows = []
    for c in sorted(chips, key=lambda c: str(c["chip"])):
        m = dict(c.get("metrics", {}))
        m["wall_s"] = c.get("wall_s")
        vals: dict[str, float | None] = {k: (None if m.get(k) is None else float(m[k])) for k in METRICS}
        rows.append(ChipRow(chip=c["chip"], variant=c["variant"], seed=int(c["seed"]), attempt=int(c["attempt"]),
                            runs=list(c.get("runs", [])), values=vals))
    rep = SweepReport(created=created, name=name, job=str(spec.get("job", {}).get("kind", "protocol")), spec=spec,
                      chips_total=total, chips=rows, failed=dict(failed), summaries=[], wall_s=wall_s,
                      chips_per_hour=3600.0 * len(rows) / wall_s if wall_s > 0 else 0.0,
                      retried=[r.chip for r in rows if r.attempt > 1])
    for metric in rep.metrics():
        for v in rep.variants():
            arr = rep.values(metric, v)
            if arr.size:
                rep.summaries.append(_summary(v, metric, arr))
    if len(rows) < total:
        rep.notes.append(f"{total - len(rows)} of {total} chips have no result yet (resume the sweep) or failed.")
    if rep.retried:
        rep.notes.append(f"{len(rep.retried)} chip(s) completed after a retry (worker lost mid-chip; protocol "
                         "jobs resumed from their journal): " + ", ".join(rep.retried))
    return rep


def sweep_report_from_run(store_root: str | os.PathLike[str], run_id: str) -> SweepReport:
    """The report of a stored sweep record (protocol ``sweep``): its spec, chip results and time span."""
    from labctl.core.errors import ConfigError
    from labctl.report._runs import now_iso

    store = RunStore(store_root)
    info = store.get_run(run_id)
    if info.protocol != SWEEP_PROTOCOL:
        raise ConfigError.invalid("RUN", run_id, f"a sweep record (protocol {SWEEP_PROTOCOL!r})")
    results = store.results(run_id)
    done = {d["chip"]: d for n, d in results if n == CHIP_RESULT}
    failed = {d["chip"]: d["error"] for n, d in results if n == CHIP_FAILED and d["chip"] not in done}
    return sweep_report(str(info.params.get("name", run_id)), info.params, int(info.snapshot.get("chips", 0)),
                        list(done.values()), failed, max(0.0, info.updated - info.created), now_iso())
