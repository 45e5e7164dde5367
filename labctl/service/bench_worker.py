"""The bench worker: one bench and its protocol jobs in a process of their own (``python -m
labctl.service.bench_worker CONFIG.json STORE``), driven by the service over stdin/stdout, one JSON object a line.

The service's event loop then only answers HTTP: the drivers' I/O, the protocols' arithmetic, the journal writes
and (on a simulated bench) the physics and instrument servers run here, on another core and under another GIL.

Requests (stdin): ``{"op": "run", "id", "protocol", "params", "crossbar", "resume"}``, ``{"op": "cancel", "id"}``,
``{"op": "status", "req"}``, ``{"op": "safe_state", "req", "reason"}``, ``{"op": "physical", "req"}``.
Answers (stdout): ``{"ev": "ready", "crossbars", "limits"}`` once the bench is open; per job ``progress``, ``run``,
``cell`` (``[row, col, status, G, target, pulses, t]`` per cell outcome, ``t`` = Unix time right after the journal
committed it) and one of ``done`` (summary), ``error`` (type, message, field) or ``cancelled``;
``{"ev": "reply", "req", "ok" | "error"}`` for the others. End of stdin (the service stopped, or was killed)
cancels the jobs, puts the bench in its safe state and ends the process.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import sys
import time
from pathlib import Path
from typing import Any

from labctl.core.config import BenchConfig
from labctl.core.records import CellOutcome


def _out(msg: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(msg, default=str, allow_nan=False) + "\n")
    sys.stdout.flush()


def _clean(obj: Any) -> Any:
    """JSON-able copy (NaN/inf -> None, numpy values -> lists and numbers)."""
    text = json.dumps(obj, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o), allow_nan=True)
    return json.loads(text, parse_constant=lambda _: None)


async def _status(bench: Any) -> dict[str, Any]:
    """Snapshot plus live state: SMU outputs (driver state) and the relays each matrix reports closed."""
    snap: dict[str, Any] = await bench.snapshot()
    for name, drv in bench.instruments.items():
        entry = snap["instruments"].setdefault(name, {})
        if hasattr(drv, "closed"):
            closed = sorted(await drv.closed())
            entry["closed"] = [list(p) for p in closed[:256]]
            entry["closed_count"] = len(closed)
        if hasattr(drv, "is_live") and hasattr(drv, "output_on"):
            entry["outputs_on"] = {str(ch): drv.is_live(ch) for ch in sorted(drv.output_on)}
    snap["safe_events"] = list(bench.safe_events[-10:])
    return dict(_clean(snap))


async def _run_job(bench: Any, store: Path, msg: dict[str, Any]) -> None:
    from labctl.jobs.protocol_run import run_protocol

    job = msg["id"]

    def progress(p: Any) -> None:
        _out({"ev": "progress", "id": job, "done": p.done, "total": p.total, "message": p.message,
              "extra": _clean(dict(p.extra))})

    def record(r: Any) -> None:
        if isinstance(r, CellOutcome):  # committed by the journal when this is called
            g = r.conductance
            _out({"ev": "cell", "id": job, "cell": [r.row, r.col, str(r.status), g if g == g else None, r.target,
                                                    r.pulses, round(time.time(), 4)]})

    try:
        result = await run_protocol(
            None, msg.get("protocol"), msg.get("params") or {}, store_root=store, resume=msg.get("resume"),
            run_id=msg.get("run_id"),
            crossbar=msg["crossbar"], on_progress=progress, on_run=lambda rid: _out({"ev": "run", "id": job,
                                                                                     "run_id": rid}),
            bench=bench, on_record=record,
        )
    except asyncio.CancelledError:
        _out({"ev": "cancelled", "id": job})
        raise
    except Exception as exc:
        _out({"ev": "error", "id": job, "type": type(exc).__name__, "message": str(exc),
              "field": getattr(exc, "field", None)})
    else:
        _out({"ev": "done", "id": job, "result": _clean({"run_id": result.run_id, "status": result.status,
                                                         "summary": result.summary})})


async def _serve(config: BenchConfig, store: Path) -> None:
    from labctl.bench import open_bench

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    jobs: dict[str, asyncio.Task[None]] = {}
    async with open_bench(config) as bench:
        gc.collect()
        gc.freeze()  # what start-up built (modules, the bench, the simulator) is out of the collector's walks
        _out({"ev": "ready", "crossbars": {n: [x.rows, x.cols] for n, x in bench.crossbars.items()},
              "limits": config.limits.model_dump(mode="json")})
        while line := await reader.readline():
            msg = json.loads(line)
            op = msg.get("op")
            if op == "run":
                task = asyncio.create_task(_run_job(bench, store, msg))
                jobs[msg["id"]] = task
                task.add_done_callback(functools.partial(_forget, jobs, msg["id"]))
            elif op == "cancel":
                if msg["id"] in jobs:
                    jobs[msg["id"]].cancel()
                else:
                    _out({"ev": "cancelled", "id": msg["id"]})
            else:
                asyncio.create_task(_reply(bench, msg))  # noqa: RUF006 - answered through stdout, nothing to await
        for task in list(jobs.values()):
            task.cancel()
        await asyncio.gather(*jobs.values(), return_exceptions=True)


def _forget(jobs: dict[str, asyncio.Task[None]], key: str, _task: object) -> None:
    jobs.pop(key, None)


async def _reply(bench: Any, msg: dict[str, Any]) -> None:
    try:
        op = msg.get("op")
        if op == "status":
            ok: Any = await _status(bench)
        elif op == "safe_state":
            await bench.safe_state(reason=msg.get("reason", "requested"))
            ok = True
        elif op == "physical":
            sim = bench.simulation
            ok = await asyncio.to_thread(sim.physical_state) if sim is not None else None
        else:
            raise ValueError(f"unknown op {op!r}")
        _out({"ev": "reply", "req": msg.get("req"), "ok": ok})
    except Exception as exc:
        _out({"ev": "reply", "req": msg.get("req"), "error": f"{type(exc).__name__}: {exc}"})


def main(argv: list[str]) -> None:
    config = BenchConfig.model_validate_json(Path(argv[0]).read_text())
    store = Path(argv[1])
    try:
        import uvloop
    except ImportError:
        asyncio.run(_serve(config, store))
    else:
        uvloop.run(_serve(config, store))


if __name__ == "__main__":
    main(sys.argv[1:])
