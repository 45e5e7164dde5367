"""Shared shell of the SMU drivers: tracked output state (for the hot-switch interlock) and the
``SourceMeasureUnit`` capability on top of a few command builders."""

from __future__ import annotations

from instruments._base import ScpiInstrument
from labctl.core.smu_limits import SmuModelLimits


class SmuBase(ScpiInstrument):
    """Subclasses build commands; this class tracks which outputs may be on. ``hardware``: the model's physical
    limits (``labctl.core.smu_limits``); the source limits are tightened to them."""

    hardware: SmuModelLimits

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.limits = self.limits.within(self.hardware.max_voltage, self.hardware.max_current)
        self.output_on: dict[int, bool] = {c: False for c in range(1, self.channels + 1)}
        self.compliance: dict[int, float] = {}

    def is_live(self, channel: int) -> bool:
        """True while the output may be on (set before ON is sent, cleared only after OFF is acknowledged)."""
        return self.output_on.get(channel, True)

    def _check_channel(self, channel: int) -> None:
        if channel not in self.output_on:
            from labctl.core.errors import ConfigError

            raise ConfigError.out_of_range("channel", channel, 1, self.channels)

    def _mark(self, channels: list[int], on: bool) -> None:
        for c in channels:
            self.output_on[c] = on

    async def source_limit(self, channel: int = 1) -> float:
        """The current compliance the instrument reports for ``channel``, A."""
        raise NotImplementedError

    async def output_state(self, channel: int = 1) -> bool:
        """Whether the instrument reports ``channel``'s output on."""
        raise NotImplementedError


def num(v: float) -> str:
    """A number as the SMUs accept it (6 significant digits)."""
    return f"{v:.6g}"


class SingleChannelSmu(SmuBase):
    """The single-channel Keithley SCPI SMUs (2400, 2450): they differ only in the compliance command,
    the measure query and their pulse; level, compliance and output are built here once."""

    channels = 1
    compliance_command: str  # ":SENS:CURR:PROT" (2400) or ":SOUR:VOLT:ILIM" (2450)

    async def set_compliance(self, amps: float, channel: int = 1) -> None:
        self._check_channel(channel)
        self.limits.check_compliance(amps)
        await self._write(f"{self.compliance_command} {num(amps)}")
        self.compliance[1] = amps

    async def set_voltage(self, volts: float, channel: int = 1) -> None:
        self._check_channel(channel)
        self.limits.check_level(volts)
        await self._write(f":SOUR:VOLT {num(volts)}")

    async def output(self, on: bool, channel: int = 1) -> None:
        self._check_channel(channel)
        if on:
            self._mark([1], True)
        await self._write(f":OUTP {'ON' if on else 'OFF'}")
        if not on:
            self._mark([1], False)

    async def source_limit(self, channel: int = 1) -> float:
        self._check_channel(channel)
        return (await self._query_floats(f"{self.compliance_command}?", 1))[0]

    async def output_state(self, channel: int = 1) -> bool:
        self._check_channel(channel)
        return await self.query_bool(":OUTP?")
