"""Progress fan-out for server-sent events: latest-value broadcast, one per job.

A subscriber always gets the newest state; a slow one skips intermediate progress updates rather than
queueing them (memory stays bounded with any number of watchers). State changes are never skipped:
the terminal state is the last thing every subscriber sees.

Per-cell outcomes (the live map) are the exception: a channel keeps them in an append-only log, one short list
per cell, and a subscriber that asks for them gets every entry from its offset on, in batches, never skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

#: most cells in one ``cells`` event
CELL_BATCH = 1024


class Channel:
    """The live state of one job: a version counter, the latest event of each kind, and a change signal.

    ``publish`` is synchronous (callable from any callback on the event loop thread).
    """

    def __init__(self) -> None:
        self.version = 0
        self.latest: dict[str, dict[str, Any]] = {}
        self.closed = False
        self.cells: list[list[Any]] = []
        self._changed = asyncio.Event()

    def publish(self, event: str, data: dict[str, Any], *, close: bool = False) -> None:
        self.version += 1
        self.latest[event] = data
        self.closed = self.closed or close
        self._signal()

    def append_cell(self, item: list[Any]) -> None:
        """Add one cell's outcome to the log (``cells`` events; ``version`` counts the other events only)."""
        self.cells.append(item)
        self._signal()

    def _signal(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def subscribe(self, keepalive: float = 15.0,
                        cells_from: int | None = None) -> AsyncIterator[tuple[str, dict[str, Any]] | None]:
        """Yield ``(event, data)`` for the current state and each change; ``None`` as a keep-alive tick.

        With ``cells_from`` (an offset into the cell log), ``("cells", {"offset", "cells"})`` batches of the
        log come first at each change. Ends after the channel is closed (the job reached a terminal state).
        """
        seen = 0
        sent = cells_from
        while True:
            if self.version == seen and (sent is None or sent >= len(self.cells)):
                try:
                    await asyncio.wait_for(self._changed.wait(), keepalive)
                except TimeoutError:
                    yield None
                    continue
            while sent is not None and sent < len(self.cells):
                batch = self.cells[sent: sent + CELL_BATCH]
                yield "cells", {"offset": sent, "cells": batch}
                sent += len(batch)
            if self.version == seen:
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

    def drop_closed(self, keep: int = 1000, keep_cells: int = 8) -> None:
        """Forget the oldest closed channels past ``keep`` (the job table remains the record), and the cell logs
        of closed channels past ``keep_cells`` (the journal has the outcomes)."""
        closed = [k for k, c in self._channels.items() if c.closed]
        for k in closed[: max(0, len(closed) - keep)]:
            del self._channels[k]
        closed = [k for k in closed if k in self._channels]
        for k in closed[: max(0, len(closed) - keep_cells)]:
            self._channels[k].cells = []
