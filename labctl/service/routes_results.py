"""Result routes: runs in the journal, their events (paged), conductance maps and exports.

Journal reads block (SQLite, HDF5), so they run in worker threads, never on the event loop.
"""

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from labctl.service.backend import Backend
from labctl.service.config import NAME_PATTERN
from labctl.service.errors import ERRORS, NotFound

RunId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,80}$", description="Run id")]
T = TypeVar("T")


class RunPage(BaseModel):
    runs: list[dict[str, Any]]
    total: int


class EventPage(BaseModel):
    events: list[dict[str, Any]] = Field(description="Pulses and reads in journal order")
    next_offset: int | None = Field(description="Pass as ``offset`` for the next page; null at the end")


class MapRef(BaseModel):
    crossbar: str
    name: str


class ConductanceMap(BaseModel):
    name: str
    crossbar: str
    read_voltage: float = Field(description="V")
    conductance: list[list[float | None]] = Field(description="Per cell, S (null = not measured)")
    targets: list[list[float | None]] = Field(description="Per cell, S (null = no target)")
    status: list[list[str]] = Field(description="converged / failed / stuck / pending, or empty")


async def _call(run_id: str, fn: Callable[..., T], *args: Any) -> T:
    try:
        return await asyncio.to_thread(fn, *args)
    except LookupError as exc:
        raise NotFound("run_id", run_id) from exc


def build(backend: Backend) -> APIRouter:
    """Result routes over the backend's journal."""
    router = APIRouter(tags=["results"])
    not_found: dict[int | str, dict[str, Any]] = {404: ERRORS[404]}
    formats = backend.export_formats()
    Fmt = Literal[tuple(formats)]  # type: ignore[valid-type]

    @router.get("/runs", response_model=RunPage)
    async def list_runs(
        limit: Annotated[int, Query(ge=1, le=1000, description="Page size, runs")] = 100,
        offset: Annotated[int, Query(ge=0, le=10**9, description="Runs to skip (newest first)")] = 0,
    ) -> RunPage:
        """Runs in the journal, newest first."""
        runs, total = await asyncio.to_thread(backend.results().list_runs, limit, offset)
        return RunPage(runs=runs, total=total)

    @router.get("/runs/{run_id}", responses=not_found)
    async def get_run(run_id: RunId) -> dict[str, Any]:
        """A run: protocol, parameters, bench snapshot, status, progress and results."""
        return await _call(run_id, backend.results().get_run, run_id)

    @router.get("/runs/{run_id}/events", response_model=EventPage, responses=not_found)
    async def run_events(
        run_id: RunId,
        offset: Annotated[int, Query(ge=0, le=10**12, description="Events to skip")] = 0,
        limit: Annotated[int, Query(ge=1, le=10_000, description="Page size, events")] = 1000,
    ) -> EventPage:
        """A run's pulses and reads in journal order, one page at a time."""
        events = await _call(run_id, backend.results().events, run_id, offset, limit)
        return EventPage(events=events, next_offset=offset + len(events) if len(events) == limit else None)

    @router.get("/runs/{run_id}/maps", response_model=list[MapRef], responses=not_found)
    async def run_maps(run_id: RunId) -> list[MapRef]:
        """The conductance maps stored with a run (crossbar, name), in order."""
        return [MapRef(**m) for m in await _call(run_id, backend.results().maps, run_id)]

    @router.get("/runs/{run_id}/map", response_model=ConductanceMap, responses=not_found)
    async def run_map(
        run_id: RunId,
        crossbar: Annotated[str | None, Query(pattern=NAME_PATTERN, description="Default: the run's")] = None,
        name: Annotated[str | None, Query(pattern=NAME_PATTERN, description="Default: the latest map")] = None,
    ) -> ConductanceMap:
        """The latest conductance map of a run (of a crossbar, by name)."""
        return ConductanceMap(**await _call(run_id, backend.results().load_map, run_id, crossbar, name))

    @router.get(
        "/runs/{run_id}/export", response_class=Response,
        responses={200: {"content": {"application/octet-stream": {}}, "description": "The exported run"},
                   **not_found},
    )
    async def export_run(
        run_id: RunId,
        fmt: Annotated[Fmt, Query(description="hdf5 (one file), csv (a zip), npz (latest map)")] = formats[0],  # type: ignore[valid-type]
    ) -> Response:
        """A run exported as a file (the formats of ``labctl runs export``)."""
        content, media, filename = await _call(run_id, backend.results().export, run_id, fmt)
        return Response(content, media_type=media,
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    return router
