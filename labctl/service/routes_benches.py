"""Bench routes: the service, its benches, and the live state of their instruments."""

from __future__ import annotations

import asyncio
import functools
from importlib.metadata import version
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from labctl.service.answers import STATUS, JSONBytes, status_key
from labctl.service.config import NAME_PATTERN
from labctl.service.errors import ERRORS, NotFound
from labctl.service.models import BenchView, JobState, ServiceInfo
from labctl.service.state import ServiceState, service

router = APIRouter(tags=["benches"])
BenchName = Annotated[str, Path(pattern=NAME_PATTERN, description="Bench name (GET /benches)")]
STATUS_TIMEOUT = 10.0


@functools.cache
def _version() -> str:
    """The installed labctl version, read once (``importlib.metadata`` scans the installed packages)."""
    return version("labctl")


@router.get("/status", response_model=ServiceInfo)
async def service_status(svc: Annotated[ServiceState, Depends(service)]) -> Response:
    """The service: version, benches, protocols and queue lengths. Touches no instrument."""
    key = status_key(svc.db)
    body = svc.answers.get(STATUS, key)  # encoded once per change of the job table
    if body is None:
        lanes = {lane: svc.db.count(state=JobState.QUEUED, lane=lane) for lane in svc.scheduler.lanes}
        info = ServiceInfo(version=_version(), benches=list(svc.benches),
                           protocols=sorted(svc.backend.protocols()), lanes=lanes)
        body = svc.answers.put(STATUS, key, info.model_dump_json().encode())
    return JSONBytes(body)


@router.get("/benches", response_model=list[BenchView])
async def list_benches(svc: Annotated[ServiceState, Depends(service)]) -> list[BenchView]:
    """Every bench with its crossbars, running job and queue length. Touches no instrument."""
    return [_view(svc, name) for name in svc.benches]


@router.get("/benches/{bench}", response_model=BenchView, responses={404: ERRORS[404]})
async def get_bench(
    bench: BenchName,
    svc: Annotated[ServiceState, Depends(service)],
    instruments: Annotated[bool, Query(description="Also ask every instrument for its live state")] = True,
) -> BenchView:
    """One bench; with ``instruments=true`` (default) the live state of its instruments (identity, outputs,
    closed relays), read over their links (waits for the instrument lock while a job runs)."""
    view = _view(svc, bench)
    if instruments:
        view.snapshot = await asyncio.wait_for(svc.benches[bench].status(), STATUS_TIMEOUT)
    return view


def _view(svc: ServiceState, name: str) -> BenchView:
    handle = svc.benches.get(name)
    if handle is None:
        raise NotFound("bench", name)
    xbars = {k: {"rows": r, "cols": c} for k, (r, c) in handle.crossbars().items()}
    return BenchView(name=name, crossbars=xbars, running_job=svc.scheduler.running_job(name),
                     queued_jobs=svc.db.count(state=JobState.QUEUED, lane=name))
