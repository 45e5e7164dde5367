"""Sweep jobs of the service: a sweep spec submitted as an off-loop job (``POST /trainer/jobs``, kind ``sweep``).

Offered only when the service config has a ``sweeps`` section (where the chips run: a Ray address or a local Ray,
and how many in flight; an API user cannot point the service at another cluster). The job runs in the off-loop
child process, which is the sweep's Ray driver; it publishes one progress event per chip (done chips / chips,
with the chip's yield and attempt) and returns the sweep record and report paths. The sweep folder is
``STORE/sweeps/<name>``; a job interrupted by a restart resumes that sweep (recorded chips are not run again).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from labctl.core.errors import ConfigError
from labctl.jobs.sweep.spec import SweepSpec

SWEEPS_DIR = "sweeps"


class SweepJobParams(BaseModel):
    """A sweep over simulated chips (``labctl sweep`` spec)."""

    model_config = ConfigDict(extra="forbid")

    spec: SweepSpec = Field(description="The sweep spec, as in a `labctl sweep` YAML file")


def run_sweep_job(params: dict[str, Any], store: Path, engine: dict[str, Any], progress: Any) -> dict[str, Any]:
    """Plan (or continue) the sweep in ``STORE/sweeps/<name>`` and run it; progress per chip."""
    from labctl.jobs import sweep as sw

    spec = SweepJobParams.model_validate(params).spec
    out = store / SWEEPS_DIR / spec.name
    if (out / sw.record.PLAN_FILE).is_file():
        planned, chips = sw.read_plan(out)
        if planned != spec:
            raise ConfigError.invalid("spec.name", spec.name, "a name not used by another sweep of this service")
    else:
        chips = sw.expand(spec)
        if len(chips) > int(engine["max_chips"]):
            raise ConfigError.out_of_range("chips", len(chips), 1, int(engine["max_chips"]))
        sw.write_plan(out, spec, chips)
    done: set[str] = set()

    def on_event(kind: str, chip: str, data: dict[str, Any]) -> None:
        if kind == "start":
            return
        done.add(chip)
        m = data.get("metrics", {})
        metrics = {"attempt": float(data.get("attempt", 0))} | {k: float(m[k]) for k in ("yield", "pulses_per_cell")
                                                                if isinstance(m.get(k), int | float)}
        progress(len(done), len(chips), metrics, f"chip {chip} {'failed' if kind == 'failed' else 'done'}")

    res = sw.run_sweep(out, address=engine.get("address"), workers=engine.get("workers"), on_event=on_event)
    html, js = sw.write_sweep_report(out)
    return {"sweep": res.record, "folder": str(out), "store": str(out / sw.RUNS_DIR), "chips": res.total,
            "completed_now": len(res.completed), "already_done": res.skipped, "failed": res.failed,
            "wall_s": res.wall_s, "report": str(html), "report_json": str(js)}
