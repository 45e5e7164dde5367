"""``create_app``: the FastAPI application; its lifespan opens the benches and closes them on exit."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from labctl.service import errors, routes_benches, routes_jobs, routes_live, routes_results, routes_ui
from labctl.service.backend import Backend, BenchHandle
from labctl.service.config import ServiceConfig
from labctl.service.fast_reads import FastReads
from labctl.service.head import HeadAsGet
from labctl.service.hub import Hub
from labctl.service.jobdb import JobDB
from labctl.service.scheduler import Scheduler
from labctl.service.security import BodyLimit, TokenGuard
from labctl.service.state import ServiceState
from labctl.service.submit import offloop_job_model, protocol_job_model


def create_app(config: ServiceConfig, store: Path, *, token: str | None = None,
               backend: Backend | None = None, freeze_gc: bool = False) -> FastAPI:
    """The service as a FastAPI app, behind a token guard (when ``token`` is set) and a body-size bound.

    ``backend`` defaults to the real labctl stack (``labctl.service.stack.LabctlBackend``). ``freeze_gc``: once
    started, move every object built so far (modules, the app, the OpenAPI document) out of the garbage
    collector's reach (``gc.freeze``), so a full collection walks only what requests made and does not stall the
    event loop; for the process that owns the service (``labctl serve``), not for an app embedded in another one.
    """
    if backend is None:
        from labctl.service.stack import LabctlBackend

        backend = LabctlBackend(store, sweeps=config.sweeps)
    be = backend

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            benches: dict[str, BenchHandle] = {}
            for entry in config.benches:
                benches[entry.name] = await stack.enter_async_context(be.open_bench(entry))
            db = JobDB(store)
            stack.callback(db.close)
            hub = Hub()
            scheduler = Scheduler(db, hub, be, benches, max_queued=config.max_queued_jobs,
                                  persist_interval=config.progress_persist_interval)
            await scheduler.start()
            stack.push_async_callback(scheduler.stop)
            app.state.service = ServiceState(config, be, benches, db, hub, scheduler)
            app.openapi()  # built once now, not on the first request (the dashboard's submit form reads it)
            if freeze_gc:
                gc.collect()
                gc.freeze()
            yield

    app = FastAPI(
        title="labctl service",
        summary="Protocol jobs, progress and results for the benches this process owns.",
        version="1",
        lifespan=lifespan,
        responses=errors.COMMON,
    )
    errors.install(app)
    offloop = be.off_loop_jobs()
    app.include_router(routes_benches.router)
    app.include_router(routes_jobs.build(
        protocol_job_model(be.protocols(), [b.name for b in config.benches]),
        offloop_job_model(offloop) if offloop else None,
    ))
    app.include_router(routes_results.build(be))
    app.include_router(routes_live.router)
    app.include_router(routes_ui.build())
    if token:
        _declare_bearer(app)
    app.add_middleware(BodyLimit, max_bytes=config.max_request_bytes)
    app.add_middleware(FastReads, state=app.state)  # the polled reads from the cache, before body and router
    if token:
        # outermost: nothing is read before the token is checked (but the dashboard's static files, which hold no data)
        app.add_middleware(TokenGuard, token=token, public=routes_ui.PUBLIC)
    app.add_middleware(HeadAsGet)  # outermost: every layer and route sees a HEAD as the GET it answers
    return app


def _declare_bearer(app: FastAPI) -> None:
    """Put the bearer requirement in the OpenAPI document, so the document says what the guard does."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
            doc.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer", "description": "The service token"}
            }
            doc["security"] = [{"bearer": []}]
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
