"""Job routes: submit, list, state, progress (server-sent events), cancel.

No ``from __future__ import annotations`` here: the request body types are built at start-up and FastAPI
must see them as objects, not as names to resolve.
"""

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response, StreamingResponse
from pydantic import TypeAdapter, ValidationError

from labctl.core.errors import ConfigError, JobError, LimitError
from labctl.service.answers import JSONBytes, job_key, job_name
from labctl.service.config import NAME_PATTERN
from labctl.service.errors import ERRORS, NotFound
from labctl.service.models import JobKind, JobPage, JobState, JobView
from labctl.service.scheduler import TRAINER_LANE, state_payload
from labctl.service.state import ServiceState, service

JobId = Annotated[str, Path(min_length=1, max_length=64,
                            description="Job id (12 hex digits), or a prefix of it that only one job has")]
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def build(protocol_body: Any, offloop_body: Any) -> APIRouter:
    """The job routes for these request body types (built from the registries at start-up)."""
    router = APIRouter(tags=["jobs"])
    strict_protocol = TypeAdapter(protocol_body)
    strict_offloop = TypeAdapter(offloop_body) if offloop_body is not None else None

    @router.post("/jobs", status_code=202, response_model=JobView, responses={k: ERRORS[k] for k in (409, 429)})
    async def submit_protocol_job(
        body: Annotated[protocol_body, Body()],
        svc: Annotated[ServiceState, Depends(service)],
        request: Request,
    ) -> JobView:
        """Queue a protocol job on a bench. It runs when the bench's earlier jobs are done (FIFO)."""
        await _strict(strict_protocol, request)
        bench = svc.benches[body.bench]
        crossbars = bench.crossbars()
        if body.crossbar is not None and body.crossbar not in crossbars:
            raise ConfigError.invalid("crossbar", body.crossbar, ", ".join(sorted(crossbars)))
        params = body.params.model_dump(mode="json", exclude_unset=True)
        try:  # what the protocol would refuse on this bench: a 422 naming the parameter, now instead of a failed job
            await svc.backend.check_protocol(bench, body.protocol, params, body.crossbar)
        except (ConfigError, LimitError) as exc:
            raise ConfigError(str(exc), field=f"params.{exc.field}" if exc.field else "params") from None
        return svc.scheduler.submit(JobKind.PROTOCOL, body.bench, params, protocol=body.protocol,
                                    crossbar=body.crossbar)

    if offloop_body is not None:

        @router.post("/trainer/jobs", status_code=202, response_model=JobView, responses={429: ERRORS[429]})
        async def submit_trainer_job(
            body: Annotated[offloop_body, Body()],
            svc: Annotated[ServiceState, Depends(service)],
            request: Request,
        ) -> JobView:
            """Queue a training or sync job. These run one at a time, outside the event loop."""
            assert strict_offloop is not None
            await _strict(strict_offloop, request)
            params = body.params.model_dump(mode="json", exclude_unset=True)
            return svc.scheduler.submit(JobKind(body.kind), TRAINER_LANE, params)

    @router.get("/jobs", response_model=JobPage)
    async def list_jobs(
        svc: Annotated[ServiceState, Depends(service)],
        state: Annotated[JobState | None, Query(description="Only jobs in this state")] = None,
        lane: Annotated[str | None, Query(pattern=NAME_PATTERN, description="Only this bench (or 'trainer')")] = None,
        limit: Annotated[int, Query(ge=1, le=1000, description="Page size, jobs")] = 100,
        offset: Annotated[int, Query(ge=0, le=10**9, description="Jobs to skip (newest first)")] = 0,
    ) -> JobPage:
        """Jobs, newest first."""
        jobs, total = svc.db.page(state=state, lane=lane, limit=limit, offset=offset)
        return JobPage(jobs=[_live(svc, j) for j in jobs], total=total)

    @router.get("/jobs/{job_id}", response_model=JobView, responses={404: ERRORS[404], 409: ERRORS["ambiguous"]})
    async def get_job(job_id: JobId, svc: Annotated[ServiceState, Depends(service)]) -> Response:
        """A job's state, run and latest progress."""
        return JSONBytes(_job_answer(svc, job_id))

    @router.post("/jobs/{job_id}/cancel", response_model=JobView, responses={404: ERRORS[404], 409: {
        "model": ERRORS[409]["model"], "description": "The job has ended already, or a job id prefix that several "
                                                      "jobs share"}})
    async def cancel_job(job_id: JobId, svc: Annotated[ServiceState, Depends(service)]) -> JobView:
        """Cancel a queued or running job. A running protocol stops and its bench goes to its safe state
        (outputs off, relays open) before this returns."""
        job = _job(svc, job_id)
        if job.state.terminal:
            raise JobError(f"job {job.id} is already {job.state.value}; only queued or running jobs can be cancelled")
        return await svc.scheduler.cancel(job.id)

    @router.get(
        "/jobs/{job_id}/events",
        response_class=StreamingResponse,
        responses={
            200: {"content": {"text/event-stream": {
                "schema": {"type": "object", "properties": {
                    "event": {"type": "string", "enum": ["progress", "state"]}, "data": {"type": "string"},
                    "id": {"type": "string"}, "retry": {"type": "integer"}},
                    "description": "One event of a text/event-stream: `retry: 2000`, then events of two "
                           "kinds, each `event: NAME` + `data: JSON` + a blank line, and `: keep-alive` comments. "
                           "`progress` data: a ProgressView (done, total, message, extra); `state` data: id, "
                           "state, run_id, attempts, error, result."},
                "example": "retry: 2000\n\nevent: progress\ndata: {\"done\": 3, \"total\": 16, \"message\": "
                           "\"\", \"extra\": {}}\n\nevent: state\ndata: {\"id\": \"0123456789ab\", "
                           "\"state\": \"succeeded\", \"run_id\": \"20261205-062011-program-job0123456789ab\"}"
                           "\n\n"}},
                  "description": "Server-sent events: `progress` (done, total, message, extra) and `state` "
                                 "(id, state, run_id, ...); the stream ends after a terminal state."},
            404: ERRORS[404],
            409: ERRORS["ambiguous"],
        },
    )
    async def job_events(job_id: JobId, svc: Annotated[ServiceState, Depends(service)]) -> StreamingResponse:
        """Progress of a job as a server-sent event stream."""
        return job_event_stream(svc, _job(svc, job_id), retry_ms=2000)

    return router


def job_event_stream(svc: ServiceState, job: JobView, *, retry_ms: int, keepalive: float = 15.0,
                     cells_from: int | None = None) -> StreamingResponse:
    """A job's events as server-sent events (``retry``, then ``event: NAME`` + ``data: JSON``, keep-alive
    comments); the job's channel is seeded from the job table when nothing was published since start-up."""
    channel = svc.hub.channel(job.id)
    if channel.version == 0:
        if job.progress is not None:
            channel.publish("progress", job.progress.model_dump())
        channel.publish("state", state_payload(job), close=job.state.terminal)

    async def stream() -> AsyncIterator[bytes]:
        yield f"retry: {retry_ms}\n\n".encode()
        async for item in channel.subscribe(keepalive=keepalive, cells_from=cells_from):
            if item is None:
                yield b": keep-alive\n\n"
                continue
            event, data = item
            yield f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()

    return StreamingResponse(stream(), media_type="text/event-stream", headers=SSE_HEADERS)


async def _strict(adapter: TypeAdapter[Any], request: Request) -> None:
    """Validate the body once more in strict mode: no ``true`` for an integer, no ``"1"`` for a number.

    FastAPI validates leniently; the OpenAPI document (JSON Schema types) promises strict types.
    """
    try:
        adapter.validate_json(json.dumps(_integral(json.loads(await request.body()))), strict=True)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None


def _integral(value: Any) -> Any:
    """Numbers with no fractional part as integers (JSON Schema counts 2.0 as an integer; strict pydantic does not).
    A float field still takes them (strict mode takes an int for a float)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, list):
        return [_integral(v) for v in value]
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    return value


def _job(svc: ServiceState, job_id: str) -> JobView:
    job = svc.db.get(job_id)
    if job is None:
        matches = svc.db.with_prefix(job_id, limit=2) if len(job_id) < 12 else []
        if len(matches) > 1:
            raise JobError(f"job_id = {job_id!r} is ambiguous: several jobs start with it; give more digits")
        if not matches:
            raise NotFound("job_id", job_id)
        job = matches[0]
    return job


def _job_answer(svc: ServiceState, job_id: str) -> bytes:
    """``GET /jobs/{id}``'s body, encoded once per change of the job's row or of its live progress."""
    key = job_key(svc.db, svc.hub, job_id)
    name = job_name(job_id)
    body = svc.answers.get(name, key)
    if body is None:
        job = _live(svc, _job(svc, job_id))
        body = job.model_dump_json().encode()
        if job.id == job_id:  # a full id (a prefix is resolved anew each time)
            svc.answers.put(name, key, body)
    return body


def _live(svc: ServiceState, job: JobView) -> JobView:
    """The table's view with the in-memory progress (the table is written at most every few 100 ms)."""
    if job.state is JobState.RUNNING:
        live = svc.scheduler.live_progress(job.id)
        if live is not None:
            return job.model_copy(update={"progress": live})
    return job

