"""Progress fan-out for server-sent events: latest-value broadcast, one per job.

A subscriber always gets the newest state; a slow one skips intermediate progress updates rather than
queueing them (memory stays bounded with any number of watchers). State changes are never skipped:
the terminal state is the last thing every subscriber sees.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any


class Channel:
    """The live state of one job: a version counter, the latest event of each kind, and a change signal.

    ``publish`` is synchronous (callable from any callback on the event loop thread).
    """

    def __init__(self) -> None:
        self.version = 0
        self.latest: dict[str, dict[str, Any]] = {}
        self.closed = False
        self._changed = asyncio.Event()

    def publish(self, event: str, data: dict[str, Any], *, close: bool = False) -> None:
        self.version += 1
        self.latest[event] = data
        self.closed = self.closed or close
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def subscribe(self, keepalive: float = 15.0) -> AsyncIterator[tuple[str, dict[str, Any]] | None]:
        """Yield ``(event, data)`` for the current state and each change; ``None`` as a keep-alive tick.

        Ends after the channel is closed (the job reached a terminal state).
        """
        seen = 0
        while True:
            if self.version == seen:
                try:
                    await asyncio.wait_for(self._changed.wait(), keepalive)
                except TimeoutError:
                    yield None
                    continue
            seen = self.version
            snapshot, closed = dict(self.latest), self.closed
            # progress first, state last: the terminal state closes the stream
            for name in sorted(snapshot, key=lambda n: n == "state"):
                yield name, snapshot[name]
            if closed:
                return


class Hub:
    """Channels by job id; a channel is created on first use and dropped a while after it closes."""

    def __init__(self) -> None:
        self._channels: dict[str, Channel] = {}

    def channel(self, job_id: str) -> Channel:
        ch = self._channels.get(job_id)
        if ch is None:
            ch = self._channels[job_id] = Channel()
        return ch

    def get(self, job_id: str) -> Channel | None:
        return self._channels.get(job_id)

    def drop_closed(self, keep: int = 1000) -> None:
        """Forget the oldest closed channels past ``keep`` (the job table remains the record)."""
        closed = [k for k, c in self._channels.items() if c.closed]
        for k in closed[: max(0, len(closed) - keep)]:
            del self._channels[k]
