"""labctl errors as HTTP answers: every 4xx body has ``detail`` and, where one is to blame, ``field``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from labctl.core.errors import ConfigError, JobError, LimitError, StoreError
from labctl.service.scheduler import QueueFull


class ErrorBody(BaseModel):
    """Body of every 4xx that is not a 422 validation error."""

    detail: str
    field: str | None = None


class NotFound(LookupError):
    def __init__(self, field: str, value: object) -> None:
        super().__init__(f"{field} = {value!r} not found")
        self.field = field


def install(app: FastAPI) -> None:
    def _body(status: int, exc: Exception, field: str | None) -> JSONResponse:
        return JSONResponse(ErrorBody(detail=str(exc), field=field).model_dump(), status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # FastAPI's own 400 (a body it cannot parse) and 404/405 (no such route): name what is to blame
        field = {400: "body", 404: "path", 405: "method"}.get(exc.status_code)
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:  # Starlette names only the first matching route's methods; name them all
            headers["Allow"] = ", ".join(_allowed(app, request))
        return JSONResponse(ErrorBody(detail=str(exc.detail), field=field).model_dump(), status_code=exc.status_code,
                            headers=headers or None)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": [_readable(e) for e in exc.errors()]}, status_code=422)

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return _body(404, exc, exc.field)

    @app.exception_handler(QueueFull)
    async def _full(_: Request, exc: QueueFull) -> JSONResponse:
        return _body(429, exc, None)

    def _invalid(exc: ConfigError | LimitError) -> JSONResponse:
        # the same shape as FastAPI's own 422 (HTTPValidationError), so one schema describes both
        item = {"loc": ["body", exc.field or "(request)"], "msg": str(exc), "type": "value_error"}
        return JSONResponse({"detail": [item]}, status_code=422)

    @app.exception_handler(ConfigError)
    async def _config(_: Request, exc: ConfigError) -> JSONResponse:
        return _invalid(exc)

    @app.exception_handler(LimitError)
    async def _limit(_: Request, exc: LimitError) -> JSONResponse:
        return _invalid(exc)

    @app.exception_handler(JobError)
    async def _job(_: Request, exc: JobError) -> JSONResponse:
        return _body(409, exc, getattr(exc, "field", None))

    @app.exception_handler(StoreError)
    async def _store(_: Request, exc: StoreError) -> JSONResponse:
        return _body(404, exc, getattr(exc, "field", None))


def _allowed(app: FastAPI, request: Request) -> list[str]:
    """Every method some route serves at this request's path (RFC 9110: the Allow header of a 405). Asked of the
    routes method by method, so routers included in any form answer for their own routes."""
    methods = set()
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        scope = {**request.scope, "method": method}
        scope.pop("route", None)
        if any(route.matches(scope)[0] is Match.FULL for route in app.router.routes):
            methods.add(method)
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def _readable(err: Any) -> dict[str, Any]:
    """One FastAPI validation error as JSON, a wrong discriminator (``protocol``/``kind``) named as that field."""
    item = {k: v for k, v in err.items() if k in ("type", "loc", "msg", "input", "ctx")}
    if err.get("type") in ("union_tag_invalid", "union_tag_not_found"):
        ctx = err.get("ctx") or {}
        key = str(ctx.get("discriminator", "")).strip("'") or "protocol"
        allowed = str(ctx.get("expected_tags", "")).replace("'", "")
        got = ctx.get("tag")
        item["loc"] = [*err.get("loc", ()), key]
        item["msg"] = (f"{key} = {got!r} is unknown; allowed: {allowed}" if got is not None
                       else f"{key} is missing; allowed: {allowed}")
    item["loc"] = list(item.get("loc", ()))
    if "ctx" in item:
        item["ctx"] = {k: v if isinstance(v, (str, int, float, bool)) or v is None else str(v)
                       for k, v in item["ctx"].items()}
    if "input" in item:
        item["input"] = jsonable_encoder(item["input"], custom_encoder={bytes: lambda b: b.decode("latin-1")})
    return item


#: answers any route can give (the guards and the body parser), documented on every operation
COMMON: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Body could not be parsed (``field`` = body)"},
    401: {"model": ErrorBody, "description": "Missing or wrong bearer token (when the service has one)"},
    413: {"model": ErrorBody, "description": "Body larger than max_request_bytes"},
}

#: OpenAPI ``responses=`` for routes that can answer these
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such object (``field`` names the path parameter)"},
    409: {"model": ErrorBody, "description": "Not possible in the job's present state"},
    "ambiguous": {"model": ErrorBody, "description": "A job id prefix that several jobs share (give more digits)"},
    429: {"model": ErrorBody, "description": "Queue full"},
}
