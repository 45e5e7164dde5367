"""Routes the dashboard watches a job with: a job's live stream with its cell log, a run's cells, its report.

``GET /jobs/{id}/live`` is ``/jobs/{id}/events`` plus ``cells`` events: every cell outcome of a programming
job, stamped with the time the journal committed it, from ``cells_from`` on. Outcomes committed before the
service (re)started are in ``GET /runs/{run_id}/cells``.
"""

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from labctl.service.errors import ERRORS, NotFound
from labctl.service.routes_jobs import JobId, job_event_stream
from labctl.service.routes_results import RunId
from labctl.service.state import ServiceState, service

T = TypeVar("T")

router = APIRouter(tags=["live"])


class CellView(BaseModel):
    """The final outcome of one programmed cell, as the journal holds it."""

    row: int
    col: int
    status: str = Field(description="converged / failed / stuck")
    target: float = Field(description="Target conductance, S")
    conductance: float | None = Field(description="Last verify reading, S (null = not a number)")
    pulses: int = Field(description="Pulses the cell took")
    attempt: int = Field(description="Attempt of the run that programmed it (> 1 after a resume)")


class CellPage(BaseModel):
    cells: list[CellView]


@router.get(
    "/jobs/{job_id}/live",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {"schema": {"type": "object", "properties": {
            "event": {"type": "string", "enum": ["cells", "progress", "state"]}, "data": {"type": "string"},
            "id": {"type": "string"}, "retry": {"type": "integer"}}}}},
              "description": "Server-sent events: `cells` ({offset, cells: [[row, col, status, conductance S, "
                             "target S, pulses, journal time (Unix s)], ...]}, every outcome from `cells_from` on, "
                             "in order), then `progress` and `state` as in /jobs/{job_id}/events; the stream ends "
                             "after a terminal state."},
        404: ERRORS[404],
    },
)
async def job_live(
    job_id: JobId,
    svc: Annotated[ServiceState, Depends(service)],
    cells_from: Annotated[int, Query(ge=0, le=10**7, description="First entry of the cell log to send")] = 0,
) -> StreamingResponse:
    """A job's progress with its per-cell outcomes (the live conductance map) as server-sent events."""
    job = svc.db.get(job_id)
    if job is None:
        raise NotFound("job_id", job_id)
    return job_event_stream(svc, job, retry_ms=1000, keepalive=5.0, cells_from=cells_from)


async def _call(run_id: str, fn: Callable[..., T], *args: Any) -> T:
    try:
        return await asyncio.to_thread(fn, *args)
    except LookupError as exc:
        raise NotFound("run_id", run_id) from exc


@router.get("/runs/{run_id}/cells", response_model=CellPage, responses={404: ERRORS[404]})
async def run_cells(run_id: RunId, svc: Annotated[ServiceState, Depends(service)]) -> CellPage:
    """Per-cell outcomes of a programming run so far (all attempts), row by row."""
    cells = await _call(run_id, svc.backend.results().cells, run_id)
    return CellPage(cells=[CellView(**c) for c in cells])


@router.get(
    "/runs/{run_id}/report", response_class=Response,  # (not HTMLResponse: its errors are JSON)
    responses={200: {"content": {"text/html": {}}, "description": "Self-contained HTML (no script)"},
               404: ERRORS[404], 409: {**ERRORS[409], "description": "No report can be built from this run"}},
)
async def run_report(run_id: RunId, svc: Annotated[ServiceState, Depends(service)]) -> Response:
    """The measured-vs-trained report of a run (a ``loop`` run's stored report, or one built from a program or
    read run), as ``labctl report`` writes it."""
    return HTMLResponse(await _call(run_id, svc.backend.results().report_html, run_id))
