"""Two ASGI guards in front of every route: a bearer token (when one is configured) and a body-size bound.

Binding anything but loopback needs a token (``check_bind``); with a token set, every request without it gets
401, except the pages a browser opens to read the API (``/docs``, its OAuth2 redirect, ``/redoc`` and
``/openapi.json``, which say nothing about the benches): the docs page then takes the token through its
"Authorize" button and sends it with every call it makes.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from labctl.core.errors import ConfigError

TOKEN_ENV = "LABCTL_TOKEN"
MIN_TOKEN_LENGTH = 16


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse a non-loopback bind without a token, and any token too short to be one."""
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(
            f"token has {len(token)} characters; allowed: at least {MIN_TOKEN_LENGTH}", field="token"
        )
    if not is_loopback(host) and not token:
        raise ConfigError(
            f"host = {host!r} is not loopback; binding it needs a token (--token or ${TOKEN_ENV}, "
            f">= {MIN_TOKEN_LENGTH} characters)", field="host",
        )


async def _send_json(send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]]) -> None:
    raw = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": raw})


#: pages readable without the token (GET/HEAD only): the API's description, never its data
OPEN_PAGES = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})


class TokenGuard:
    """``Authorization: Bearer <token>`` on every HTTP request (constant-time comparison), but the API's
    documentation pages (:data:`OPEN_PAGES`).

    ``public``: more GET/HEAD paths served without it (an entry ending in ``*`` is a prefix): the dashboard's static
    files, which hold no data; everything they show comes from the API with the token.
    """

    def __init__(self, app: ASGIApp, token: str, public: tuple[str, ...] = ()) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()
        self._public = public

    def _is_public(self, scope: Scope) -> bool:
        if scope.get("method") not in ("GET", "HEAD"):
            return False
        path: str = scope.get("path", "")
        return path in OPEN_PAGES or any(path == p or (p.endswith("*") and path.startswith(p[:-1]))
                                         for p in self._public)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._is_public(scope):
            got = dict(scope["headers"]).get(b"authorization", b"")
            if not hmac.compare_digest(got, self._expected):
                await _send_json(send, 401, {"detail": "missing or wrong bearer token", "field": "Authorization"},
                                 [(b"www-authenticate", b"Bearer")])
                return
        await self.app(scope, receive, send)


class BodyLimit:
    """413 for a request body larger than ``max_bytes`` (by Content-Length, or counted while streaming)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        too_big = {"detail": f"request body exceeds max_request_bytes = {self.max_bytes} B", "field": "body"}
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await _send_json(send, 413, too_big, [])
            return
        if declared is not None:
            await self.app(scope, receive, send)
            return
        # no Content-Length (chunked): read at most max_bytes, then replay the body to the app
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # client went away
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await _send_json(send, 413, too_big, [])
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
