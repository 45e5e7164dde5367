"""One chip of a sweep: a plain function of its spec and seed that writes its runs to the sweep's store.

``run_chip(chip, sweep_dir)`` opens the chip's own simulated bench (drivers, transport, simulator, physics),
runs the job through the same code as ``labctl run`` / ``labctl loop``, journals every step in
``<sweep_dir>/runs`` and returns the chip's result (its run ids and metrics). It knows nothing of the engine
that calls it; an engine may call it again after a crash:

* protocol jobs use a fixed run id (``<chip>-<protocol>``): a second call resumes that run from its journal
  (cells with an outcome are skipped, so a verified cell is never pulsed again) on the chip's physics as saved
  after its last cell (:mod:`labctl.jobs.sweep.checkpoint`), or only collects the result when the run has
  completed; a protocol that cannot resume starts a fresh run ``<chip>-<protocol>-a<attempt>``;
* loop and digits jobs start over (their runs get fresh ids; the failed attempt's runs stay in the store,
  marked failed or running, and are not referenced by the chip's result).

Every call increments ``<sweep_dir>/chips/<chip>/attempts`` and writes its process id to ``.../pid``.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from labctl.core.errors import StoreError
from labctl.jobs.sweep.spec import Chip, DigitsJob, LoopJob, ProtocolJob
from labctl.store import RunStore

RUNS_DIR = "runs"
CHIPS_DIR = "chips"


def chip_dir(sweep_dir: Path, chip_id: str) -> Path:
    return sweep_dir / CHIPS_DIR / chip_id


def _mark_attempt(d: Path) -> int:
    d.mkdir(parents=True, exist_ok=True)
    f = d / "attempts"
    n = int(f.read_text() or 0) + 1 if f.exists() else 1
    tmp = d / f".attempts.{os.getpid()}"
    tmp.write_text(str(n))
    os.replace(tmp, f)
    (d / "pid").write_text(str(os.getpid()))
    return n


def run_chip(chip: Chip, sweep_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Run ``chip``'s job on its own simulated bench; returns its result (JSON-able)."""
    sweep = Path(sweep_dir)
    d = chip_dir(sweep, chip.id)
    attempt = _mark_attempt(d)
    started = time.time()
    t0 = time.monotonic()
    if isinstance(chip.job, ProtocolJob):
        runs, metrics = asyncio.run(_protocol(chip, chip.job, RunStore(sweep / RUNS_DIR), d, attempt))
    elif isinstance(chip.job, LoopJob):
        runs, metrics = asyncio.run(_loop(chip, chip.job, sweep, d, attempt))
    else:
        runs, metrics = asyncio.run(_digits(chip, chip.job, sweep, d, attempt))
    return {"chip": chip.id, "variant": chip.variant, "seed": chip.seed, "job": chip.job.kind,
            "status": "completed", "attempt": attempt, "runs": runs, "metrics": metrics,
            "wall_s": time.monotonic() - t0, "started": started, "finished": time.time(),
            "host": socket.gethostname(), "pid": os.getpid()}


def _bench(chip: Chip) -> Any:
    from labctl.core.config import parse_bench_config

    return parse_bench_config(chip.bench, source=f"chip {chip.id} bench")


async def _protocol(chip: Chip, job: ProtocolJob, store: RunStore, d: Path, attempt: int
                    ) -> tuple[list[str], dict[str, Any]]:
    import protocols
    from labctl.bench import Simulation, open_bench
    from labctl.jobs.protocol_run import run_protocol
    from labctl.jobs.sweep.checkpoint import ChipState

    resumable = protocols.get(job.protocol).resumable
    run_id = f"{chip.id}-{job.protocol}"
    try:
        info = store.get_run(run_id)
    except StoreError:
        info = None
    if info is not None and info.status == "completed":
        return [run_id], protocol_metrics(store, run_id)
    if info is not None and not resumable:  # the partial run stays (unreferenced); a fresh one per attempt
        run_id, info = f"{chip.id}-{job.protocol}-a{attempt}", None
    state = ChipState(d / "physics.state")
    extra: dict[str, Any] = {}
    t0 = time.monotonic()
    async with open_bench(_bench(chip), transport=chip.transport) as bench:
        sim = bench.simulation.bench if isinstance(bench.simulation, Simulation) and resumable else None

        def save(p: Any) -> None:
            if sim is not None:
                state.save(sim, p.done)

        try:
            if info is None:
                await run_protocol(None, job.protocol, job.params, store_root=store.root, run_id=run_id,
                                   crossbar=job.crossbar, bench=bench, on_progress=save)
            else:
                saved = state.load(sim) if sim is not None else None
                journal = len(store.outcomes(run_id))
                extra = {"resumed_cells": journal, "lost_cells": journal - (saved or 0)}
                await run_protocol(None, None, None, store_root=store.root, resume=run_id, bench=bench,
                                   on_progress=save)
        finally:
            state.close()
    return [run_id], protocol_metrics(store, run_id, time.monotonic() - t0) | extra


def protocol_metrics(store: RunStore, run_id: str, wall: float | None = None) -> dict[str, Any]:
    """Per-chip figures of a stored protocol run: programming yield, pulses per cell, times."""
    from labctl.report._runs import program_pass

    info = store.get_run(run_id)
    out: dict[str, Any] = {"attempts": info.attempts}
    if info.protocol == "program":
        pp = program_pass(store, run_id, info.crossbar, "program")
        out |= {"cells": pp.cells, "converged": pp.converged, "failed": pp.failed, "stuck": pp.stuck,
                "yield": pp.converged / pp.cells if pp.cells else 0.0, "pulses_total": pp.pulses_total,
                "pulses_per_cell": pp.pulses_per_cell.get("mean", 0.0),
                "pulses_per_cell_p90": pp.pulses_per_cell.get("p90", 0.0),
                "program_bench_s": pp.bench_seconds}
    summary = next((d for n, d in store.results(run_id) if n == "summary"), {})
    out["summary"] = summary
    if wall is not None:
        out["job_wall_s"] = wall
    return out


def _write_bench(chip: Chip, d: Path) -> Path:
    path = d / "bench.yaml"
    path.write_text(json.dumps(chip.bench))  # JSON is YAML
    return path


def _first_program(store: RunStore, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Programming figures of the chip's initial program runs together."""
    ids = [str(r["id"]) for r in runs if r.get("protocol") == "program" and r.get("stage") == "initial"]
    tot = {"cells": 0, "converged": 0, "pulses_total": 0, "program_bench_s": 0.0}
    for rid in ids:
        m = protocol_metrics(store, rid)
        for k in tot:
            tot[k] += m[k]
    tot["yield"] = tot["converged"] / tot["cells"] if tot["cells"] else 0.0
    tot["pulses_per_cell"] = tot["pulses_total"] / tot["cells"] if tot["cells"] else 0.0
    return tot


async def _loop(chip: Chip, job: LoopJob, sweep: Path, d: Path, attempt: int) -> tuple[list[str], dict[str, Any]]:
    from labctl.jobs.closed_loop import LoopOptions, run_loop

    store = RunStore(sweep / RUNS_DIR)
    opts = LoopOptions.parse(**job.options, out=str(d / f"attempt{attempt}"), bench=str(_write_bench(chip, d)),
                             store=str(store.root), transport=chip.transport)
    res = await run_loop(opts)
    b, a = res.report.accuracy_of("before retraining"), res.report.accuracy_of("after retraining")
    runs = [str(r["id"]) for r in res.report.runs]
    steps = [r for r in res.report.runs if r.get("protocol") != "loop"]
    metrics = _first_program(store, steps) | {
        "accuracy_before": b.measured_crossbar if b else None, "accuracy_after": a.measured_crossbar if a else None,
        "accuracy_software": b.software if b else None, "loop_run": res.run_id}
    return runs, metrics


async def _digits(chip: Chip, job: DigitsJob, sweep: Path, d: Path, attempt: int) -> tuple[list[str], dict[str, Any]]:
    from labctl.jobs.digits_recovery import DigitsRecoveryOptions, run_digits_recovery

    store = RunStore(sweep / RUNS_DIR)
    opts = DigitsRecoveryOptions.parse(**job.options, out=str(d / f"attempt{attempt}"),
                                       bench=str(_write_bench(chip, d)), store=str(store.root),
                                       transport=chip.transport)
    res = await run_digits_recovery(opts, log=lambda _m: None)
    metrics = _first_program(store, res.runs) | {
        "accuracy_before": res.before.get("measured"), "accuracy_after": res.after.get("measured"),
        "accuracy_software": res.before.get("software")}
    return [str(r["id"]) for r in res.runs], metrics
