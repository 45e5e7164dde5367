"""The one error tree of labctl.

```
LabctlError
 +-- ConfigError            bad configuration or parameters (names the field, value and allowed range)
 +-- InstrumentError        anything an instrument or its driver raised
 |    +-- LimitError        a command would exceed a configured safety limit; raised before anything is sent
 |    +-- TransportError    the link failed (timeout, dropped connection, garbled reply)
 |    +-- InstrumentReportedError  the instrument's own error queue reported a problem
 +-- ProtocolError          a programming protocol could not proceed
 +-- StoreError             the run journal could not be read or written
 +-- JobError               a service job failed or was refused
```
"""

from __future__ import annotations


class LabctlError(Exception):
    """Base of every error labctl raises on purpose."""


class ConfigError(LabctlError, ValueError):
    """Invalid configuration or parameters.

    Build it with :meth:`out_of_range` or :meth:`invalid` so the message names the field,
    the value and what is allowed.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    @classmethod
    def out_of_range(
        cls, field: str, value: object, low: float | None = None, high: float | None = None, unit: str = ""
    ) -> ConfigError:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "+inf" if high is None else f"{high:g}"
        u = f" {unit}" if unit else ""
        return cls(f"{field} = {value!r} is out of range; allowed [{lo}, {hi}]{u}", field=field)

    @classmethod
    def invalid(cls, field: str, value: object, allowed: str) -> ConfigError:
        return cls(f"{field} = {value!r} is invalid; allowed: {allowed}", field=field)


class InstrumentError(LabctlError):
    """An instrument or its driver failed."""


class LimitError(InstrumentError, ValueError):
    """A command would exceed a configured safety limit. Raised before anything is sent."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class TransportError(InstrumentError):
    """The link to an instrument failed: timeout, dropped connection or garbled reply."""


class InstrumentReportedError(InstrumentError):
    """The instrument's error queue reported an error (SCPI code and message)."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class ProtocolError(LabctlError):
    """A programming protocol could not proceed."""


class StoreError(LabctlError):
    """The run journal could not be read or written."""


class JobError(LabctlError):
    """A service job failed or was refused."""
