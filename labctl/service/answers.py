"""Pre-encoded JSON answers of the polled read routes (``GET /status``, ``GET /jobs/{id}``), kept between state
changes.

A poller asks far more often than the state changes (100 pollers: thousands of requests a second; a job: tens
of progress events a second), so each answer is encoded once per state and served as bytes until the state it
was built from moves on. Every entry carries the *key* it was built under (the job table's write counter,
``JobDB.version``, and the job's live channel version, ``Channel.version``); an entry whose key no longer matches
is stale and is rebuilt on the next request. Nothing is ever served that a fresh build would not give.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

from starlette.responses import Response

from labctl.service.hub import Hub
from labctl.service.jobdb import JobDB

#: entries kept (one per polled job, plus ``/status``); the least recently used goes first
DEFAULT_SIZE = 1024


class JSONBytes(Response):
    """An ``application/json`` answer whose body is already encoded."""

    media_type = "application/json"


class AnswerCache:
    """Encoded answers by name, each valid while its key holds (bounded, least recently used dropped)."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        if size < 1:
            raise ValueError(f"size = {size}; allowed: >= 1")
        self.size = size
        self._items: OrderedDict[str, tuple[Hashable, bytes]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, name: str, key: Hashable) -> bytes | None:
        """The body stored for ``name`` if it was built under ``key``, else None."""
        item = self._items.get(name)
        if item is None or item[0] != key:
            self.misses += 1
            return None
        self._items.move_to_end(name)
        self.hits += 1
        return item[1]

    def put(self, name: str, key: Hashable, body: bytes) -> bytes:
        """Store ``body`` as the answer for ``name`` under ``key``; returns ``body``."""
        self._items[name] = (key, body)
        self._items.move_to_end(name)
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return body

    def __len__(self) -> int:
        return len(self._items)


#: the cache's names of the two answers (``/status``; ``/jobs/{id}`` by full id)
STATUS = "status"


def job_name(job_id: str) -> str:
    return f"job:{job_id}"


def status_key(db: JobDB) -> int:
    """``/status`` changes with the queue lengths, i.e. with the job table."""
    return db.version


def job_key(db: JobDB, hub: Hub, job_id: str) -> tuple[int, int]:
    """``/jobs/{id}`` changes with the job's row and with its live progress (its channel)."""
    channel = hub.get(job_id)
    return db.version, channel.version if channel is not None else -1
