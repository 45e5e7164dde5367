"""The transport interface and the shared message log used by safety tests and transcripts."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Protocol, TypeVar, runtime_checkable

from labctl.core.errors import TransportError

T = TypeVar("T")

TransportLog = Callable[[str, str], None]
"""``log(resource, message)``: called with every message just before it is sent."""


@runtime_checkable
class Transport(Protocol):
    """A message-based link to one instrument. ``query`` sends and reads one reply line."""

    resource: str
    timeout: float

    async def write(self, message: str) -> None: ...

    async def query(self, message: str) -> str: ...

    async def clear(self) -> None:
        """Discard any reply still in flight (after a timeout)."""
        ...

    async def reconnect(self) -> None: ...

    async def close(self) -> None: ...


class BlockingTransport:
    """Base of transports over a blocking library: calls run in a worker thread, one at a time."""

    def __init__(self, resource: str, timeout: float, log: TransportLog | None = None) -> None:
        self.resource = resource
        self.timeout = timeout
        self.log = log
        self._lock = asyncio.Lock()
        #: a read failed (timeout, garbled): a late reply may still arrive, so the link is reopened before its next
        #: use and that reply can never be taken for the answer to a later command
        self._stale = False

    # blocking primitives, implemented by subclasses ------------------------------------------------
    def _open(self) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    def _write(self, message: str) -> None:
        raise NotImplementedError

    def _read(self) -> str:
        raise NotImplementedError

    def _clear(self) -> None:
        raise NotImplementedError

    def _query(self, message: str) -> str:
        self._write(message)
        return self._read()

    def _fresh(self) -> None:
        """Reopen the link when an earlier read failed (before anything else is sent on it)."""
        if self._stale:
            self._reopen()
            self._stale = False

    def _checked(self, op: Callable[[], T]) -> T:
        self._fresh()
        try:
            return op()
        except TransportError:
            self._stale = True
            raise

    # asyncio face --------------------------------------------------------------------------------------
    async def write(self, message: str) -> None:
        async with self._lock:
            if self.log is not None:
                self.log(self.resource, message)
            await self._io(lambda: self._write(message))

    async def query(self, message: str) -> str:
        async with self._lock:
            if self.log is not None:
                self.log(self.resource, message)
            return await self._io(lambda: self._query(message))

    async def _io(self, op: Callable[[], T]) -> T:
        """Run ``op`` on a worker thread. Cancelled while it runs (a task cancelled or cut by a deadline), the
        thread still finishes its exchange: the link stays held until it has, so the next message can never read
        this one's reply; then the cancellation goes on."""
        fut = asyncio.ensure_future(asyncio.to_thread(self._checked, op))
        try:
            return await asyncio.shield(fut)
        except asyncio.CancelledError:
            while not fut.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait({fut})
            if not fut.cancelled():
                fut.exception()  # retrieved: a failure of the abandoned exchange is not reported as unhandled
            raise

    async def clear(self) -> None:
        async with self._lock:
            await asyncio.to_thread(self._clear)

    async def reconnect(self) -> None:
        async with self._lock:
            await asyncio.to_thread(self._reopen)

    def _reopen(self) -> None:
        with contextlib.suppress(Exception):
            self._close()
        self._open()
        self._stale = False

    async def close(self) -> None:
        async with self._lock:
            await asyncio.to_thread(self._close)
