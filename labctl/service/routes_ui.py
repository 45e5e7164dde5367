"""The dashboard: ``/`` and its static files under ``/ui/`` (plain HTML, CSS and JavaScript modules, no build step).

The files hold no data and are served without the token (``PUBLIC``); every number the pages show comes from
the API, which the pages call with the token the user entered (kept in ``sessionStorage``, sent as the bearer
header, never in a URL). A strict Content-Security-Policy allows nothing but this origin.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response

from labctl.service.errors import NotFound

WEB = Path(__file__).with_name("web")
PUBLIC = ("/", "/ui/*")
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
CSP = ("default-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data: blob:; "
       "style-src 'self' 'unsafe-inline'; frame-src 'self' blob:; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")


class _Files:
    """The web folder read once: name -> (bytes, media type, ETag)."""

    def __init__(self, folder: Path) -> None:
        self.files = {
            p.name: (p.read_bytes(), TYPES[p.suffix], '"' + hashlib.sha256(p.read_bytes()).hexdigest()[:16] + '"')
            for p in sorted(folder.iterdir()) if p.suffix in TYPES
        }

    def response(self, name: str, request: Request) -> Response:
        if name not in self.files:
            raise NotFound("path", f"/ui/{name}")
        body, media, etag = self.files[name]
        headers = {"ETag": etag, "Cache-Control": "no-cache", "Content-Security-Policy": CSP,
                   "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type=media, headers=headers)


def build() -> APIRouter:
    """``GET /`` (the single page) and ``GET /ui/{name}`` (its modules and style sheet); not in the OpenAPI
    document (they are not API)."""
    files = _Files(WEB)
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    async def index(request: Request) -> Response:
        return files.response("index.html", request)

    @router.get("/ui/{name}")
    async def static(name: str, request: Request) -> Response:
        return files.response(name, request)

    return router
