"""In-process transport: calls a simulated instrument's message handler directly (fast unit tests only)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from labctl.core.errors import TransportError
from labctl.core.transports._base import TransportLog

Handler = Callable[[str], "str | None"]


class InProcTransport:
    """Same semantics as a socket: replies queue up and a query reads the oldest one."""

    def __init__(self, resource: str, handler: Handler, *, timeout: float = 2.0, log: TransportLog | None = None):
        self.resource = resource
        self.timeout = timeout
        self.log = log
        self._handler = handler
        self._replies: deque[str] = deque()
        self._lock = asyncio.Lock()

    def _send(self, message: str) -> None:
        if self.log is not None:
            self.log(self.resource, message)
        reply = self._handler(message)
        if reply is not None:
            self._replies.append(reply)

    async def write(self, message: str) -> None:
        async with self._lock:
            self._send(message)

    async def query(self, message: str) -> str:
        async with self._lock:
            self._send(message)
            if not self._replies:
                raise TransportError(f"{self.resource}: no reply within {self.timeout:g} s (timeout)")
            return self._replies.popleft()

    async def clear(self) -> None:
        self._replies.clear()

    async def reconnect(self) -> None:
        self._replies.clear()

    async def close(self) -> None:
        self._replies.clear()
