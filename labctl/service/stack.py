"""``LabctlBackend``: the service's ``Backend`` on the real pieces.

Each bench runs in a worker process (``labctl.service.bench_worker``, which opens it with ``labctl.bench``);
protocols come from ``protocols.REGISTRY``; a job is ``labctl.jobs.protocol_run.run_protocol`` in that worker;
results are read from ``labctl.store.RunStore``; training/sync jobs run in a child process
(``labctl.service.trainer_worker``).
"""

from __future__ import annotations

import io
import json
import math
import tempfile
import time
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from labctl.core.errors import ConfigError, JobError, StoreError
from labctl.service.backend import CellCallback, ProgressCallback, RunCallback
from labctl.service.bench_proc import WorkerBench
from labctl.service.config import BenchEntry, SweepsConfig
from labctl.service.trainer_worker import OFF_LOOP_KINDS, run_in_child


class StoreResults:
    """``Results`` over a ``RunStore`` (JSON-able; StoreError for a missing run becomes LookupError)."""

    def __init__(self, root: Path) -> None:
        from labctl.store import RunStore

        self.store = RunStore(root)

    def list_runs(self, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        runs = self.store.list_runs()[::-1]
        return [_json(r.to_dict()) for r in runs[offset: offset + limit]], len(runs)

    def get_run(self, run_id: str) -> dict[str, Any]:
        info = _found(self.store.get_run, run_id)
        out = info.to_dict(snapshot=True)
        out["results"] = [{"name": n, "data": d} for n, d in self.store.results(run_id)]
        result: dict[str, Any] = _json(out)
        return result

    def events(self, run_id: str, offset: int, limit: int) -> list[dict[str, Any]]:
        return [_json(e) for e in _found(self.store.events, run_id, offset, limit)]

    def maps(self, run_id: str) -> list[dict[str, str]]:
        return [{"crossbar": c, "name": n} for c, n in _found(self.store.map_names, run_id)]

    def load_map(self, run_id: str, crossbar: str | None, name: str | None) -> dict[str, Any]:
        xb = crossbar or _found(self.store.get_run, run_id).crossbar
        m = _found(self.store.load_map, run_id, xb, name)
        return {"name": m.name, "crossbar": xb, "read_voltage": m.read_voltage,
                "conductance": _grid(m.conductance), "targets": _grid(m.targets),
                "status": [[str(s) for s in row] for row in m.status.tolist()]}

    def export(self, run_id: str, fmt: str) -> tuple[bytes, str, str]:
        _found(self.store.get_run, run_id)
        with tempfile.TemporaryDirectory(prefix="labctl-export-") as tmp:
            out = self.store.export(run_id, fmt, Path(tmp) / f"{run_id}.{fmt}")
            if out.is_dir():  # csv: a folder of files -> one zip
                buf = io.BytesIO()
                with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
                    for f in sorted(out.rglob("*")):
                        if f.is_file():
                            z.write(f, f.relative_to(out).as_posix())
                return buf.getvalue(), "application/zip", f"{run_id}-csv.zip"
            media = "application/x-hdf5" if fmt == "hdf5" else "application/octet-stream"
            return out.read_bytes(), media, out.name

    def cells(self, run_id: str) -> list[dict[str, Any]]:
        attempts = _found(self.store.outcome_attempts, run_id)
        return [{**_json(o.to_dict()), "attempt": attempts.get(cell, 0)}
                for cell, o in sorted(self.store.outcomes(run_id).items())]

    def report_html(self, run_id: str) -> str:
        from labctl.report import render_html, report_from_runs

        _found(self.store.get_run, run_id)
        try:
            report = report_from_runs(self.store.root, [run_id])
        except (ConfigError, StoreError) as exc:  # e.g. a cancelled program run has no final map
            raise JobError(f"no report for run {run_id!r}: {exc}") from exc
        return render_html(report)


class LabctlBackend:
    """The real stack behind the service; ``store`` is the run journal's root (the job table lives there too)."""

    def __init__(self, store: Path, sweeps: SweepsConfig | None = None) -> None:
        self.store = Path(store)
        self._results = StoreResults(self.store)
        self.sweeps = sweeps

    def protocols(self) -> dict[str, type[BaseModel]]:
        import protocols

        return {name: spec.params_model for name, spec in protocols.REGISTRY.items()}

    def off_loop_jobs(self) -> dict[str, type[BaseModel]]:
        if self.sweeps is None:
            return dict(OFF_LOOP_KINDS)
        from labctl.service.sweep_job import SweepJobParams

        return dict(OFF_LOOP_KINDS) | {"sweep": SweepJobParams}

    @asynccontextmanager
    async def open_bench(self, entry: BenchEntry) -> AsyncIterator[WorkerBench]:
        from labctl.bench import DEFAULT_CONFIG, load_config

        # the bench and its jobs run in a worker process: this process's event loop only answers HTTP
        bench = await WorkerBench.start(entry.name, load_config(entry.config or DEFAULT_CONFIG), self.store)
        try:
            yield bench
        finally:
            await bench.close()

    async def check_protocol(self, bench: Any, protocol: str, params: dict[str, Any], crossbar: str | None) -> None:
        import protocols
        from protocols._preflight import preflight

        assert isinstance(bench, WorkerBench)
        rows, cols = bench.geometry[crossbar or next(iter(bench.geometry))]
        await preflight(protocols.get(protocol), params, rows, cols, bench.limits)

    async def run_protocol(
        self, bench: Any, protocol: str, params: dict[str, Any], *, crossbar: str | None, resume: str | None,
        on_progress: ProgressCallback, on_run: RunCallback, job_id: str | None = None,
        on_cell: CellCallback | None = None,
    ) -> dict[str, Any]:
        import protocols

        assert isinstance(bench, WorkerBench)
        xbar = crossbar or next(iter(bench.geometry))
        run_id = None
        if job_id is not None:
            run_id = f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{protocol}-job{job_id}"
            if resume is None:  # created by an attempt that crashed before the job table heard of it
                resume = _run_of_job(self.store, job_id)
                if resume is not None:
                    on_run(resume)
        if resume is not None and not protocols.get(protocol).resumable:
            resume = None  # a read or a sweep is simply run again
        result = await bench.run(None if resume else protocol, {} if resume else params, crossbar=xbar,
                                 resume=resume, run_id=None if resume else run_id, on_progress=on_progress,
                                 on_run=on_run, on_cell=on_cell)
        return {**result, "resumed_from": resume}

    async def run_off_loop(self, kind: str, params: dict[str, Any], on_progress: ProgressCallback) -> dict[str, Any]:
        if kind not in self.off_loop_jobs():
            raise ConfigError.invalid("kind", kind, ", ".join(self.off_loop_jobs()))
        engine = self.sweeps.model_dump() if kind == "sweep" and self.sweeps is not None else None
        return await run_in_child(kind, params, self.store, on_progress, engine=engine)

    def results(self) -> StoreResults:
        return self._results

    def export_formats(self) -> list[str]:
        from labctl.store import FORMATS

        return list(FORMATS)


def _run_of_job(store: Path, job_id: str) -> str | None:
    """The run a job's earlier attempt created (its id ends with ``-job<job id>``), if any."""
    found = sorted(p.name for p in store.glob(f"*-job{job_id}") if p.is_dir())
    return found[-1] if found else None


def _found(fn: Any, run_id: str, *args: Any) -> Any:
    try:
        return fn(run_id, *args)
    except StoreError as exc:
        raise LookupError(str(exc)) from exc


def _grid(a: Any) -> list[list[float | None]]:
    return [[None if not math.isfinite(v) else float(v) for v in row] for row in a.tolist()]


def _json(obj: Any) -> Any:
    """JSON-able copy (NaN/inf -> None, numpy scalars -> numbers, other objects -> str)."""

    def default(o: Any) -> Any:
        if hasattr(o, "tolist"):
            return o.tolist()
        return str(o)

    text = json.dumps(obj, default=default, allow_nan=True)
    return json.loads(text, parse_constant=lambda _: None)
