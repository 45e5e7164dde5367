"""Injected clocks: wall time for real benches, virtual time for simulations and tests."""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Something that tells the time in seconds and can be advanced by waiting."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class WallClock:
    """Real time (``time.monotonic``), real sleeping."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        import asyncio

        await asyncio.sleep(max(0.0, seconds))


class VirtualClock:
    """Virtual time: ``sleep`` advances the clock instantly. Deterministic for tests and simulations."""

    def __init__(self, start: float = 0.0) -> None:
        self._t = float(start)

    def now(self) -> float:
        return self._t

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"seconds = {seconds!r} is out of range; allowed [0, +inf)")
        self._t += seconds

    async def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))
