"""Driver base: one transport, limits, retries of safe queries, the SCPI error queue."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from labctl.core.errors import InstrumentError, InstrumentReportedError, LimitError, TransportError
from labctl.core.limits import SafetyLimits
from labctl.core.transports import Transport

log = logging.getLogger("labctl.instruments")


@dataclass(frozen=True)
class SourceLimits:
    """The limits one source enforces: the bench limits, tightened by the instrument's own."""

    bench: SafetyLimits
    max_voltage: float
    compliance: float

    @classmethod
    def of(cls, bench: SafetyLimits, max_voltage: float | None = None, compliance: float | None = None
           ) -> SourceLimits:
        return cls(bench, min(bench.max_program_voltage, max_voltage or math.inf),
                   min(bench.compliance, compliance or math.inf))

    def within(self, max_voltage: float, max_current: float) -> SourceLimits:
        """These limits tightened to what the hardware can do (the model's maximum voltage and current)."""
        return SourceLimits(self.bench, min(self.max_voltage, max_voltage), min(self.compliance, max_current))

    def check_level(self, volts: float, field: str = "volts") -> None:
        if not abs(volts) <= self.max_voltage:
            raise LimitError(f"{field} = {volts:g} V exceeds the source maximum; allowed "
                             f"[-{self.max_voltage:g}, {self.max_voltage:g}] V", field=field)

    def check_pulse(self, volts: float, width: float) -> None:
        self.check_level(volts)
        self.bench.check_program(volts, width)

    def check_read(self, volts: float) -> None:
        self.bench.check_read(volts)
        self.check_level(volts)

    def check_compliance(self, amps: float) -> None:
        if not 0 < amps <= self.compliance:
            raise LimitError(f"compliance = {amps:g} A is out of range; allowed (0, {self.compliance:g}] A",
                             field="compliance")


class ScpiInstrument:
    """Base of all drivers. ``configure()`` puts the instrument in the state the driver assumes."""

    channels = 1
    #: model names this driver is written for, as the second field of ``*IDN?`` reports them (any match)
    idn_models: tuple[str, ...] = ()

    def __init__(self, name: str, transport: Transport, limits: SourceLimits, *, retries: int = 2) -> None:
        self.name = name
        self.transport = transport
        self.limits = limits
        self.retries = retries
        self.idn = ""

    async def _write(self, message: str) -> None:
        await self.transport.write(message)

    async def _query(self, message: str, *, safe: bool = True) -> str:
        """Send and read one reply. A safe query is retried after reopening the link; others raise."""
        attempt = 0
        while True:
            try:
                return await self.transport.query(message)
            except TransportError as exc:
                if not safe:
                    raise TransportError(f"{self.name}: {exc}; the command {message!r} may have been executed "
                                         f"and is not repeated") from exc
                if attempt >= self.retries:
                    raise TransportError(f"{self.name}: {exc} (after {attempt} retries)") from exc
                attempt += 1
                log.warning("%s: %s; reopening the link and retrying (%d/%d)", self.name, exc, attempt,
                            self.retries)
                await self.transport.reconnect()

    async def _query_floats(self, message: str, count: int | None = None, *, safe: bool = True) -> list[float]:
        """A query answered with comma-separated numbers; a garbled answer counts as a transport failure."""
        attempt = 0
        while True:
            reply = await self._query(message, safe=safe)
            try:
                values = [float(x) for x in reply.replace(";", ",").split(",")]
                if count is not None and len(values) != count:
                    raise ValueError(reply)
                return values
            except ValueError:
                if not safe:
                    raise TransportError(f"{self.name}: garbled reply {reply!r} to {message!r}; the command was "
                                         "executed but its result is unknown and it is not repeated") from None
                if attempt >= self.retries:
                    raise TransportError(f"{self.name}: garbled reply {reply!r} to {message!r} "
                                         f"(after {attempt} retries)") from None
                attempt += 1
                log.warning("%s: garbled reply %r; retrying", self.name, reply)
                await self.transport.reconnect()

    def unexpected(self, command: str, reply: str, expected: str) -> InstrumentError:
        """The error for a reply the manual does not allow: names the instrument, the command and the reply."""
        return InstrumentError(f"{self.name}: unexpected reply {reply!r} to {command!r}; expected {expected}")

    async def verify(self, checks: list[tuple[str, str]]) -> None:
        """Read back the settings the driver depends on: ``(query, expected reply)`` pairs, one query per round
        trip (once per connect); a number is compared as a number (relative 1e-6). Raises naming the first
        setting that differs."""
        for query, want in checks:
            got = (await self._query(query)).strip()
            if got.upper() == want.upper():
                continue
            try:
                if math.isclose(float(got), float(want), rel_tol=1e-6):
                    continue
            except ValueError:
                pass
            raise InstrumentError(f"{self.name}: {query} reads back {got!r}; the driver set {want!r} (the "
                                  "instrument did not take the setting)")

    async def sync(self) -> None:
        """Wait until every command sent so far has been executed (``*OPC?``)."""
        reply = (await self._query("*OPC?")).strip()
        if reply not in ("1", "+1"):
            raise self.unexpected("*OPC?", reply, "1")

    async def identify(self) -> str:
        self.idn = (await self._query("*IDN?")).strip()
        return self.idn

    def identity_problem(self, idn: str) -> str | None:
        """Why ``idn`` is not an instrument this driver is written for (None when it is)."""
        fields = [f.strip() for f in idn.split(",")]
        if len(fields) < 4:
            return f"{self.name}: *IDN? answered {idn!r}, not 'maker,model,serial,firmware'"
        model = fields[1].upper().removeprefix("MODEL").strip()
        if self.idn_models and model not in self.idn_models:
            return (f"{self.name}: the instrument is a {fields[0]} {fields[1]}, but the driver {type(self).__name__} "
                    f"is for {', '.join(self.idn_models)}")
        return None

    async def query_bool(self, message: str) -> bool:
        """A query answered with 0 or 1; anything else raises ``InstrumentError`` naming the command."""
        reply = (await self._query(message)).strip()
        if reply not in ("0", "1"):
            raise InstrumentError(f"{self.name}: unexpected reply {reply!r} to {message!r} (expected 0 or 1)")
        return reply == "1"

    async def errors(self) -> list[str]:
        """Drain the instrument's error queue (``:SYST:ERR?``)."""
        out: list[str] = []
        for _ in range(20):
            reply = await self._query(":SYST:ERR?")
            if reply.split(",", 1)[0].strip() in ("0", "+0"):
                break
            out.append(reply)
        return out

    async def check_errors(self) -> None:
        errs = await self.errors()
        if errs:
            code = errs[0].split(",", 1)[0]
            raise InstrumentReportedError(f"{self.name} reported: {'; '.join(errs)}",
                                          code=int(code) if code.lstrip("+-").isdigit() else None)

    async def configure(self) -> None:
        await self.identify()

    async def safe_state(self) -> None:
        raise NotImplementedError

    async def disconnect(self) -> None:
        await self.transport.close()

    def snapshot(self) -> dict[str, object]:
        return {"name": self.name, "driver": type(self).__name__, "idn": self.idn,
                "resource": self.transport.resource, "max_voltage": self.limits.max_voltage,
                "compliance": self.limits.compliance}
