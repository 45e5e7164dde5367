"""Immutable records that protocols emit. Storage, progress bars and reports consume them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class CellStatus(StrEnum):
    """Outcome of programming one cell."""

    CONVERGED = "converged"
    FAILED = "failed"
    STUCK = "stuck"
    PENDING = "pending"


@dataclass(frozen=True, slots=True)
class PulseRecord:
    """One programming pulse applied to one cell (volts signed: > 0 SET, < 0 RESET)."""

    row: int
    col: int
    volts: float
    width: float
    t: float
    current: float = float("nan")
    scheme: str = "v/2"
    kind: str = "program"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ReadRecord:
    """One read of one cell at a (clamped) read voltage."""

    row: int
    col: int
    volts: float
    current: float
    t: float
    kind: str = "verify"

    @property
    def conductance(self) -> float:
        return self.current / self.volts if self.volts else float("nan")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["conductance"] = self.conductance
        return d


@dataclass(frozen=True, slots=True)
class CellOutcome:
    """The final state of one cell after a programming protocol."""

    row: int
    col: int
    status: CellStatus
    target: float
    conductance: float
    pulses: int

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = str(self.status)
        return d


@dataclass(frozen=True, slots=True)
class Progress:
    """Progress of a long protocol: ``done`` of ``total`` units, with a short message."""

    done: int
    total: int
    message: str = ""
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


@dataclass(frozen=True, slots=True)
class InferenceRecord:
    """One inference step: every row driven at its voltage (within the read clamp), column currents measured."""

    row_volts: tuple[float, ...]
    cols: tuple[int, ...]
    currents: tuple[float, ...]
    t: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class MapRecord:
    """A conductance map of a crossbar (rows x cols arrays; NaN where a cell was not measured).

    ``conductance`` in siemens at ``read_voltage`` volts; ``targets`` (S) and ``status`` (CellStatus
    strings) where the map comes from programming; ``extra`` holds other per-cell arrays (e.g. spread).
    """

    name: str
    conductance: Any  # numpy array (rows, cols), float64
    read_voltage: float
    targets: Any = None  # numpy array (rows, cols) or None
    status: Any = None  # numpy array (rows, cols) of str or None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ResultRecord:
    """A named result of a protocol (an I-V curve, retention or endurance traces, inference outputs).

    ``data`` maps names to JSON-able values or numpy arrays.
    """

    name: str
    data: dict[str, Any] = field(default_factory=dict)
