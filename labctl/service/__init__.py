"""The asyncio HTTP service next to the bench: protocol jobs, progress and results over HTTP.

``create_app(config, store, token=...)`` builds the ASGI app (FastAPI on uvicorn, see
``docs/decisions/0005-service.md``); ``labctl serve`` runs it. Routes: ``/status``, ``/benches``,
``/jobs`` (submit, list, state, ``/events`` as server-sent events, ``/cancel``), ``/trainer/jobs``,
``/runs`` (runs, paged events, maps, exports), ``/jobs/{id}/live`` and ``/runs/{id}/cells`` (the live cell map),
``/runs/{id}/report``; the OpenAPI document is at ``/openapi.json``; the dashboard is at ``/``.
"""

from labctl.service.app import create_app
from labctl.service.config import BenchEntry, ServiceConfig, load_service_config
from labctl.service.models import JobKind, JobState, JobView

__all__ = ["BenchEntry", "JobKind", "JobState", "JobView", "ServiceConfig", "create_app", "load_service_config"]
