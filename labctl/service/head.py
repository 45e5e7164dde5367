"""``HeadAsGet``: ``HEAD`` on every ``GET`` route (RFC 9110 9.3.2: the GET answer's status and headers, no content).

FastAPI's routes answer only the methods they declare, so a ``HEAD`` got 405 while the 405s' ``Allow`` header
named it. This outermost ASGI layer runs a ``HEAD`` request as a ``GET`` and passes on only the response's start
(status, headers with the GET's ``content-length``) and an empty end of body; the server (uvicorn) knows the
request was a ``HEAD`` and sends no content either way. A streamed answer (an event stream) ends for the client
with its headers; the rest of the stream is dropped.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        ended = False

        async def head_only(message: Message) -> None:
            nonlocal ended
            if ended:
                return
            if message["type"] == "http.response.body":
                ended = True
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, head_only)
