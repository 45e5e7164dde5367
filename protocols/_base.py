"""What every protocol shares: the record sink, the strict parameter base model and ``ProtocolSpec``."""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from labctl.core.access import BiasScheme, CrossbarAccess
from labctl.core.errors import ConfigError
from labctl.core.records import CellOutcome


class RecordSink(Protocol):
    """Where a protocol's records go (``labctl.store.Journal``, a list in tests, a progress bar)."""

    def emit(self, record: object) -> None: ...


class ListSink:
    """A sink that keeps every record in a list (tests, quick scripts)."""

    def __init__(self) -> None:
        self.records: list[object] = []

    def emit(self, record: object) -> None:
        self.records.append(record)

    def of(self, cls: type[Any]) -> list[Any]:
        return [r for r in self.records if isinstance(r, cls)]


class Params(BaseModel):
    """Strict parameter model: unknown keys rejected, values validated, frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


# Parameters that several protocols declare alike; the default stays at each use (``read_voltage: ReadVolts = 0.1``).
CellRow = Annotated[int, Field(ge=0, description="Cell row")]
CellCol = Annotated[int, Field(ge=0, description="Cell column")]
ReadVolts = Annotated[float, Field(gt=0, le=1, description="Read voltage, V")]
Scheme = Annotated[BiasScheme, Field(description="Bias of unselected lines")]


#: Cells a resumed run must not touch again: (row, col) -> the outcome the journal shows.
Resume = Mapping[tuple[int, int], CellOutcome]

RunFn = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class ProtocolSpec:
    """A registered protocol: its name, parameter model and ``run(access, params, sink, *, resume=None)``."""

    name: str
    summary: str
    params_model: type[Params]
    run: RunFn
    resumable: bool = False

    def parse(self, raw: Mapping[str, Any]) -> Params:
        """Validate raw parameters; ``ConfigError`` naming the field, the value and what is allowed."""
        try:
            return self.params_model.model_validate(dict(raw))
        except ValidationError as exc:
            raise config_error(self.name, exc, list(self.params_model.model_fields)) from None


def config_error(protocol: str, exc: ValidationError, names: list[str] | None = None) -> ConfigError:
    msgs = []
    for e in exc.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(params)"
        value = e.get("input", "")
        if e["type"] == "extra_forbidden" and names:
            close = difflib.get_close_matches(str(e["loc"][-1]), names, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            msgs.append(f"{loc}: unknown parameter; {hint}allowed: {', '.join(names)} "
                        f"(`labctl protocols {protocol}` describes them)")
            continue
        msgs.append(f"{loc} = {value!r}: {e['msg']}")
    first = str(exc.errors()[0]["loc"][0]) if exc.errors() and exc.errors()[0]["loc"] else None
    return ConfigError(f"{protocol} params: " + "; ".join(msgs), field=first)


def check_read_volts(access: CrossbarAccess, field: str, volts: float) -> None:
    """A read-type voltage must sit within the bench's read clamp (checked before anything is sent)."""
    clamp = access.limits.read_clamp
    if not 0 < abs(volts) <= clamp:
        raise ConfigError.out_of_range(field, volts, -clamp, clamp, "V (read clamp; non-zero)")
