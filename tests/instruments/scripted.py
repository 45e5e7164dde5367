"""A scripted transport for transcript tests: expected (message, reply) pairs, in order."""

from __future__ import annotations


class Scripted:
    resource = "scripted"
    timeout = 1.0

    def __init__(self, pairs: list[tuple[str, str | None]]) -> None:
        self.pairs = list(pairs)
        self.sent: list[str] = []

    def _next(self, message: str) -> str | None:
        assert self.pairs, f"unexpected message {message!r}"
        expected, reply = self.pairs.pop(0)
        assert message == expected, f"sent {message!r}, expected {expected!r}"
        self.sent.append(message)
        return reply

    async def write(self, message: str) -> None:
        assert self._next(message) is None

    async def query(self, message: str) -> str:
        reply = self._next(message)
        assert reply is not None
        return reply

    async def clear(self) -> None: ...

    async def reconnect(self) -> None: ...

    async def close(self) -> None: ...

    def done(self) -> None:
        assert not self.pairs, f"not sent: {self.pairs}"
