"""What the routes share: the open benches, the scheduler, the job table, the backend and the cached answers."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request

from labctl.service.answers import AnswerCache
from labctl.service.backend import Backend, BenchHandle
from labctl.service.config import ServiceConfig
from labctl.service.hub import Hub
from labctl.service.jobdb import JobDB
from labctl.service.scheduler import Scheduler


@dataclass
class ServiceState:
    config: ServiceConfig
    backend: Backend
    benches: dict[str, BenchHandle]
    db: JobDB
    hub: Hub
    scheduler: Scheduler
    answers: AnswerCache = field(default_factory=AnswerCache)


async def service(request: Request) -> ServiceState:
    """FastAPI dependency: the state the lifespan built (``async``: a plain ``def`` would send every request
    through the thread pool)."""
    state: ServiceState = request.app.state.service
    return state
