"""``preflight``: the checks a protocol makes against a bench before its first bench operation, without a bench.

A protocol checks its parameters against the bench's geometry and limits (cells inside the array, a target map
that fits, amplitudes within ``max_program_voltage``, reads within the clamp) before it sends anything. Running it
on :class:`_DryAccess` (geometry and limits only; the first pulse, read or wait stops the run) makes those same
checks at submission time, so the service refuses what ``labctl run`` refuses, with the same message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labctl.core.limits import SafetyLimits
from protocols._base import ListSink, ProtocolSpec


class _Stop(BaseException):
    """The protocol reached its first bench operation: every up-front check has passed (a BaseException, so a
    protocol's own ``except Exception`` around a cell does not swallow it)."""


class _DryAccess:
    """A crossbar with geometry and limits only; any bench operation stops the run."""

    def __init__(self, rows: int, cols: int, limits: SafetyLimits) -> None:
        self.rows, self.cols, self.limits = rows, cols, limits

    def now(self) -> float:
        return 0.0

    def __getattr__(self, name: str) -> Any:
        raise _Stop(name)


async def preflight(spec: ProtocolSpec, raw: Mapping[str, Any], rows: int, cols: int, limits: SafetyLimits) -> None:
    """Raise the ``ConfigError``/``LimitError`` that running ``spec`` with ``raw`` on such a crossbar would raise
    before touching it; return when there is none."""
    params = spec.parse(raw)
    try:
        await spec.run(_DryAccess(rows, cols, limits), params, ListSink(), resume=None)
    except _Stop:
        return

