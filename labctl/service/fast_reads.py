"""``FastReads``: the polled reads (``GET /status``, ``GET /jobs/{id}``) answered from the cache in front of the
router.

A poller's request costs the service mostly framework work (routing, dependencies, the exception and body-limit
layers), not the answer. When :class:`~labctl.service.answers.AnswerCache` holds a fresh answer (built by the
route itself, under the key of the state it was built from), this ASGI layer sends those bytes with the headers
the route would send; anything else (a miss, a stale entry, a query string, another method or path, a prefix of a
job id) goes to the app, whose route builds and stores the answer. It sits inside the token guard: the
token is checked first, as for every route.
"""

from __future__ import annotations

from starlette.datastructures import State
from starlette.types import ASGIApp, Receive, Scope, Send

from labctl.service.answers import STATUS, job_key, job_name, status_key
from labctl.service.state import ServiceState

_JOBS = "/jobs/"
_CONTENT_TYPE = (b"content-type", b"application/json")


class FastReads:
    """Serve fresh cached answers of ``GET /status`` and ``GET /jobs/{id}``; pass everything else on.

    ``state``: the app's state, where the lifespan puts the ``ServiceState`` (``service``) once it has started.
    """

    def __init__(self, app: ASGIApp, state: State) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope.get("query_string"):
            body = self._fresh(scope["path"])
            if body is not None:
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-length", str(len(body)).encode()), _CONTENT_TYPE]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    def _fresh(self, path: str) -> bytes | None:
        svc: ServiceState | None = getattr(self.state, "service", None)
        if svc is None:  # not started yet (or shut down)
            return None
        if path == "/status":
            return svc.answers.get(STATUS, status_key(svc.db))
        if path.startswith(_JOBS):
            job_id = path[len(_JOBS):]
            if job_id and "/" not in job_id:
                return svc.answers.get(job_name(job_id), job_key(svc.db, svc.hub, job_id))
        return None
