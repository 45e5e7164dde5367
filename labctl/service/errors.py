"""labctl errors as HTTP answers: every 4xx body has ``detail`` and, where one is to blame, ``field``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

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

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return _body(404, exc, exc.field)

    @app.exception_handler(QueueFull)
    async def _full(_: Request, exc: QueueFull) -> JSONResponse:
        return _body(429, exc, None)

    @app.exception_handler(ConfigError)
    async def _config(_: Request, exc: ConfigError) -> JSONResponse:
        return _body(422, exc, exc.field)

    @app.exception_handler(LimitError)
    async def _limit(_: Request, exc: LimitError) -> JSONResponse:
        return _body(422, exc, exc.field)

    @app.exception_handler(JobError)
    async def _job(_: Request, exc: JobError) -> JSONResponse:
        return _body(409, exc, getattr(exc, "field", None))

    @app.exception_handler(StoreError)
    async def _store(_: Request, exc: StoreError) -> JSONResponse:
        return _body(404, exc, getattr(exc, "field", None))


#: OpenAPI ``responses=`` for routes that can answer these
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such object (``field`` names the path parameter)"},
    409: {"model": ErrorBody, "description": "Not possible in the job's present state"},
    429: {"model": ErrorBody, "description": "Queue full"},
}
