"""Run one protocol on one crossbar of a bench, into the journal. The CLI and the service both call it.

The path, top to bottom::

    params (raw dict)  -> REGISTRY[protocol].parse           (ConfigError before anything else)
    bench config       -> labctl.bench.open_bench            (or the caller's open bench)
    bench snapshot     -> the run's journal, created on the protocol's first record (nothing stored
                          when parameters, limits or instruments fail before that)
    protocol.run       -> records -> labctl.store.Journal     (commit per cell outcome / N records)
    on exit            -> crossbar safe state; run status completed / failed / cancelled

Resume (``resume=RUN``): the stored protocol, parameters and crossbar are reused and every cell with
an outcome in the journal is skipped, so a verified cell is never pulsed again.
"""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from labctl.core.access import CrossbarAccess
from labctl.core.errors import ConfigError
from labctl.core.records import Progress, ResultRecord
from labctl.store import Journal, RunStore

ProgressCallback = Callable[[Progress], None]
RunCallback = Callable[[str], None]
RecordCallback = Callable[[object], None]


@dataclass
class RunResult:
    """What a protocol run produced: the run id (None when nothing was recorded), status and summary."""

    run_id: str | None
    status: str
    summary: dict[str, Any] = field(default_factory=dict)


class _LazySink:
    """Creates the run on the first record, then forwards every record to its journal (and progress)."""

    def __init__(self, create: Callable[[], Journal], on_progress: ProgressCallback | None,
                 on_record: RecordCallback | None = None) -> None:
        self._create = create
        self.journal: Journal | None = None
        self._on_progress = on_progress
        self._on_record = on_record

    def emit(self, record: object) -> None:
        if self.journal is None:
            self.journal = self._create()
        self.journal.emit(record)  # a cell outcome is committed when this returns
        if self._on_record is not None:
            self._on_record(record)
        if isinstance(record, Progress) and self._on_progress is not None:
            self._on_progress(record)


async def _maybe_await(x: Any) -> Any:
    return await x if inspect.isawaitable(x) else x


@asynccontextmanager
async def _bench_of(config: Any, bench: Any) -> AsyncIterator[Any]:
    if bench is not None:
        yield bench
        return
    import importlib

    open_bench = importlib.import_module("labctl.bench").open_bench  # the one place concrete benches are built
    async with open_bench(config) as opened:
        yield opened


def _crossbar(bench: Any, name: str) -> CrossbarAccess:
    crossbars: Mapping[str, CrossbarAccess] = bench.crossbars
    if name not in crossbars:
        raise ConfigError.invalid("crossbar", name, ", ".join(sorted(crossbars)) or "(bench has no crossbars)")
    return crossbars[name]


async def run_protocol(
    config: Any,
    protocol: str | None,
    params: Mapping[str, Any] | None = None,
    *,
    store_root: str | os.PathLike[str],
    run_id: str | None = None,
    resume: str | None = None,
    crossbar: str = "xbar0",
    on_progress: ProgressCallback | None = None,
    on_run: RunCallback | None = None,
    bench: Any = None,
    on_record: RecordCallback | None = None,
) -> RunResult:
    """Run ``protocol`` with ``params`` on ``crossbar`` of the bench ``config`` (or of an open ``bench``).

    ``resume=RUN`` continues a stored run (``protocol`` may be None or must match; ``params`` must be
    empty or equal to the stored ones). ``on_record`` sees every record after the journal took it (a
    ``CellOutcome`` is committed by then). Cancelling the task leaves the crossbar in its safe state and
    the run marked "cancelled" (resumable); an error marks it "failed" and re-raises.
    """
    import protocols

    store = RunStore(store_root)
    resume_cells = None
    if resume is not None:
        info = store.get_run(resume)
        if protocol is not None and protocol != info.protocol:
            raise ConfigError.invalid("protocol", protocol, f"{info.protocol!r} (the protocol of run {resume})")
        if params and dict(params) != info.params:
            raise ConfigError.invalid("params", dict(params), "none (a resumed run keeps its stored parameters)")
        protocol, raw, crossbar = info.protocol, info.params, info.crossbar
        spec = protocols.get(protocol)
        if not spec.resumable:
            raise ConfigError.invalid("resume", resume, f"a run of a resumable protocol ({_resumable()})")
        resume_cells = store.outcomes(resume)
    else:
        if protocol is None:
            raise ConfigError.invalid("protocol", None, ", ".join(sorted(protocols.REGISTRY)))
        spec = protocols.get(protocol)
        raw = dict(params or {})
    parsed = spec.parse(raw)
    stored_params = parsed.model_dump(mode="json", exclude_unset=True)

    async with _bench_of(config, bench) as b:
        access = _crossbar(b, crossbar)
        snapshot = {"bench": await _maybe_await(b.snapshot()), "crossbar": crossbar}
        opened: list[Any] = []

        def create() -> Journal:
            if resume is not None:
                rid = resume
            else:
                rid = store.create_run(spec.name, stored_params, snapshot, crossbar=crossbar, run_id=run_id).id
            cm = store.journal(rid)
            journal = cm.__enter__()
            opened.append(cm)
            if on_run is not None:
                on_run(rid)
            return journal

        sink = _LazySink(create, on_progress, on_record)
        if resume is not None:
            sink.journal = create()
        status, error = "failed", None
        try:
            summary = await spec.run(access, parsed, sink, resume=resume_cells)
            sink.emit(ResultRecord("summary", dict(summary)))
            status = "completed"
            return RunResult(sink.journal.run_id if sink.journal else None, status, dict(summary))
        except asyncio.CancelledError:
            status = "cancelled"
            raise
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            try:
                await asyncio.shield(access.safe_state())
            finally:
                for cm in opened:
                    cm.__exit__(None, None, None)
                if sink.journal is not None:
                    store.set_status(sink.journal.run_id, status, error)


def _resumable() -> str:
    import protocols

    return ", ".join(n for n, s in protocols.REGISTRY.items() if s.resumable)
