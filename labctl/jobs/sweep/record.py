"""The sweep record: one run (protocol ``sweep``) in the sweep's store that references its chips' runs.

``<out>/sweep.json`` holds the spec and the expanded chips (so ``--resume`` needs nothing else); the record
``sweep-<name>`` in ``<out>/runs`` gets one result ``sweep_chip`` per completed chip (its variant, seed, run ids
and metrics) and ``sweep_chip_failed`` per chip that failed for good; its progress is chips done / chips.
Only the driver writes the record, so a chip is recorded once: a resumed driver skips the recorded chips.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from labctl.core.errors import ConfigError, StoreError
from labctl.core.records import Progress, ResultRecord
from labctl.jobs.sweep.chip import RUNS_DIR
from labctl.jobs.sweep.spec import Chip, SweepSpec
from labctl.report._sweep import CHIP_FAILED, CHIP_RESULT, SWEEP_PROTOCOL
from labctl.store import RunStore

PLAN_FILE = "sweep.json"


def record_id(name: str) -> str:
    return f"sweep-{name}"


def write_plan(out: Path, spec: SweepSpec, chips: list[Chip]) -> None:
    """Save the spec and its chips to ``<out>/sweep.json`` (atomically); refuses a folder holding another sweep."""
    out.mkdir(parents=True, exist_ok=True)
    plan = out / PLAN_FILE
    if plan.exists():
        raise ConfigError.invalid("--out", str(out), "a folder without a sweep (continue one with --resume DIR)")
    tmp = out / f".{PLAN_FILE}.{os.getpid()}"
    tmp.write_text(json.dumps({"spec": spec.model_dump(mode="json"), "chips": [c.model_dump(mode="json")
                                                                             for c in chips]}))
    os.replace(tmp, plan)


def read_plan(out: Path) -> tuple[SweepSpec, list[Chip]]:
    plan = out / PLAN_FILE
    if not plan.is_file():
        raise ConfigError.invalid("--resume", str(out), f"a sweep folder (one with {PLAN_FILE})")
    data = json.loads(plan.read_text())
    return SweepSpec.model_validate(data["spec"]), [Chip.model_validate(c) for c in data["chips"]]


class SweepRecord:
    """The sweep's run in ``<out>/runs``: created on first use, appended to by one driver at a time."""

    def __init__(self, out: Path, spec: SweepSpec, total: int) -> None:
        self.store = RunStore(out / RUNS_DIR)
        self.id = record_id(spec.name)
        self.total = total
        try:
            self.store.get_run(self.id)
        except StoreError:
            self.store.create_run(SWEEP_PROTOCOL, spec.model_dump(mode="json"), {"chips": total}, crossbar="-",
                                  run_id=self.id)
        self._cm: Any = None
        self._journal: Any = None

    def done(self) -> dict[str, dict[str, Any]]:
        """Recorded results of completed chips, by chip id."""
        return {d["chip"]: d for n, d in self.store.results(self.id) if n == CHIP_RESULT}

    def __enter__(self) -> SweepRecord:
        self._cm = self.store.journal(self.id, batch=1)
        self._journal = self._cm.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._cm.__exit__(None, None, None)
        complete = len(self.done()) == self.total
        status = "completed" if complete else ("cancelled" if exc[0] is KeyboardInterrupt else "interrupted")
        self.store.set_status(self.id, status, None if complete else f"{len(self.done())}/{self.total} chips")

    def add(self, result: dict[str, Any], n_done: int) -> None:
        self._journal.emit(Progress(n_done, self.total, f"chip {result['chip']} done"))
        self._journal.emit(ResultRecord(CHIP_RESULT, result))  # one transaction with the progress

    def fail(self, chip: str, error: str) -> None:
        self._journal.emit(ResultRecord(CHIP_FAILED, {"chip": chip, "error": error}))



def write_sweep_report(out: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``<out>/report.html`` and ``report.json`` of the sweep in ``out`` (from its record)."""
    from labctl.report import sweep_report_from_run
    from labctl.report import write_sweep_report as write

    spec, _ = read_plan(Path(out))
    rep = sweep_report_from_run(Path(out) / RUNS_DIR, record_id(spec.name))
    paths: tuple[Path, Path] = write(rep, Path(out) / "report.html")
    return paths
