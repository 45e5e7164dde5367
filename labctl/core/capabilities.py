"""Capability protocols: the small interfaces that programming protocols are typed against.

Real drivers (``instruments``) and simulated ones implement these; ``protocols`` never imports
either. Every method that sends something enforces the configured safety limits *before* sending.
Channels are 1-based as on the instruments' front panels.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable


@runtime_checkable
class Instrument(Protocol):
    """Anything on the bench: has a name, an identity, and a safe state."""

    name: str

    async def identify(self) -> str:
        """The instrument's ``*IDN?`` answer (or equivalent)."""
        ...

    async def safe_state(self) -> None:
        """Outputs off / relays open. Must not raise on a healthy link."""
        ...

    async def disconnect(self) -> None:
        """Release the transport (the instrument keeps its state)."""
        ...


@runtime_checkable
class SourceMeasureUnit(Instrument, Protocol):
    """A voltage-sourcing, current-measuring SMU (one or more channels)."""

    channels: int

    async def set_compliance(self, amps: float, channel: int = 1) -> None: ...

    async def set_voltage(self, volts: float, channel: int = 1) -> None:
        """DC source level. Raises ``LimitError`` above the configured maximum."""
        ...

    async def output(self, on: bool, channel: int = 1) -> None: ...

    async def measure_current(self, channel: int = 1) -> float:
        """Current at the present source level, amps."""
        ...

    async def read(self, volts: float, channel: int = 1) -> float:
        """Source ``volts`` (must be within the read clamp), measure, return the current."""
        ...

    async def pulse(self, volts: float, width: float, channel: int = 1) -> float:
        """One voltage pulse of ``width`` seconds from 0 V bias; returns the current measured in it."""
        ...


@runtime_checkable
class SwitchMatrix(Instrument, Protocol):
    """A relay matrix routing instrument inputs (rows of the matrix) to outputs (DUT lines).

    Crosspoints are ``(input, output)`` pairs, both 1-based.
    """

    inputs: int
    outputs: int

    async def close(self, crosspoints: Iterable[tuple[int, int]]) -> None: ...

    async def open(self, crosspoints: Iterable[tuple[int, int]]) -> None: ...

    async def open_all(self) -> None: ...

    async def closed(self) -> frozenset[tuple[int, int]]:
        """The crosspoints the instrument reports as closed."""
        ...
