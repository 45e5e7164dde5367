"""Running a sweep's chips as Ray tasks: the only module of labctl that imports Ray.

``run_sweep(out, ...)`` submits every chip not yet recorded as a Ray task (``run_chip``; ``max_retries`` from the
spec, so a chip whose worker process died, or whose simulated instrument timed out (``TransportError``, e.g. on an
overloaded machine), runs again and resumes from its journal; any other error fails the chip), keeps at most
``workers``
chips in flight, and records each result in the sweep record as it arrives. Without ``address`` Ray starts on
this machine (``num_cpus = workers``, no dashboard, a small object store) and stops at the end; with it the
sweep runs on an existing cluster (``ray start --head`` / ``ray.init(address=...)``), whose workers must see
``out`` at the same path (a shared file system). ``on_event(kind, chip_id, data)`` hears ``start``, ``done``
(data: the chip's result) and ``failed`` (data: ``{"error": ...}``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labctl.core.errors import TransportError
from labctl.jobs.sweep.chip import run_chip
from labctl.jobs.sweep.record import SweepRecord, read_plan
from labctl.jobs.sweep.spec import Chip

OBJECT_STORE_BYTES = 96 * 1024 * 1024
"""Object store of a local Ray (chips pass only small JSON results)."""

WORKER_NICENESS = 0
"""Nice value of a local Ray's workers. Ray's default (15) puts the chips below every other process: on a shared,
loaded machine a chip then ran 4x slower in a worker than in the driver (benchmarks/bench_sweep.py). A chip is the
work, as ``labctl run`` is; a cluster's own setting applies with ``address``."""

SweepEvent = Callable[[str, str, dict[str, Any]], None]


@dataclass
class SweepOutcome:
    """What a driver run did: chips completed now and before, failures, wall time."""

    record: str
    total: int
    completed: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    wall_s: float = 0.0


def _chip_task(chip: dict[str, Any], out: str) -> dict[str, Any]:
    """The Ray task: the chip's job, and the Ray node that ran it."""
    import ray

    res = run_chip(Chip.model_validate(chip), out)
    res["node"] = ray.get_runtime_context().get_node_id()
    return res


def _init_ray(address: str | None, workers: int | None) -> bool:
    """Connect to ``address`` or start a local Ray; True when this call started (and must stop) it."""
    import ray

    if ray.is_initialized():
        return False
    quiet: dict[str, Any] = {"log_to_driver": False, "configure_logging": False}
    if address:
        ray.init(address=address, **quiet)
    else:
        # address="local": always a new instance; a bare ray.init() joins any Ray already running on the machine
        ray.init(address="local", num_cpus=workers or os.cpu_count() or 1, include_dashboard=False,
                 object_store_memory=OBJECT_STORE_BYTES, _system_config={"worker_niceness": WORKER_NICENESS},
                 **quiet)
    return True


def run_sweep(out: str | os.PathLike[str], *, address: str | None = None, workers: int | None = None,
              on_event: SweepEvent | None = None) -> SweepOutcome:
    """Run (or continue) the sweep planned in ``out`` (``write_plan``) until every chip is recorded."""
    import ray

    root = Path(out).resolve()
    spec, chips = read_plan(root)
    emit = on_event or (lambda _k, _c, _d: None)
    started = _init_ray(address, workers)
    t0 = time.monotonic()
    try:
        window = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))  # type: ignore[no-untyped-call]
        task = ray.remote(num_cpus=1, max_retries=spec.retries,  # type: ignore[call-overload]  # (list: in the docs)
                          retry_exceptions=[TransportError])(_chip_task)
        with SweepRecord(root, spec, len(chips)) as record:
            done = record.done()
            result = SweepOutcome(record.id, len(chips), skipped=len(done))
            todo = [c for c in chips if c.id not in done]
            for c in chips:
                if c.id in done:
                    emit("done", c.id, done[c.id])
            running: dict[Any, Chip] = {}
            while todo or running:
                while todo and len(running) < window:
                    chip = todo.pop(0)
                    running[task.remote(chip.model_dump(mode="json"), str(root))] = chip
                    emit("start", chip.id, {})
                ready, _ = ray.wait(list(running), num_returns=1)
                chip = running.pop(ready[0])
                try:
                    res = ray.get(ready[0])
                except ray.exceptions.RayError as exc:  # the chip's own error, or its worker lost after retries
                    err = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
                    record.fail(chip.id, err)
                    result.failed[chip.id] = err
                    emit("failed", chip.id, {"error": err})
                    continue
                done[chip.id] = res
                record.add(res, len(done))
                result.completed.append(res)
                emit("done", chip.id, res)
    finally:
        if started:
            ray.shutdown()
    result.wall_s = time.monotonic() - t0
    return result
