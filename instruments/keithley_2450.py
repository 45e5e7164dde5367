"""Keithley 2450 SMU (SCPI command set). Compliance is the source limit ``:SOUR:VOLT:ILIM``.

The 2450 has no pulse subsystem: a pulse is the source delay ``:SOUR:VOLT:DEL`` held after ``:OUTP ON``
(≥ 50 µs on the instrument), followed by output off; its current is not measured (NaN).
"""

from __future__ import annotations

from instruments._smu import SingleChannelSmu, num
from labctl.core.errors import InstrumentError


class Keithley2450(SingleChannelSmu):
    compliance_command = ":SOUR:VOLT:ILIM"

    async def configure(self) -> None:
        await self.identify()
        lang = (await self._query("*LANG?")).strip().upper()
        if lang != "SCPI":
            raise InstrumentError(f"{self.name}: command set is {lang!r}; set *LANG SCPI and power-cycle")
        await self._write(f"*CLS;:OUTP OFF;:SOUR:FUNC VOLT;:SENS:FUNC \"CURR\";:SOUR:VOLT 0;"
                          f":SOUR:VOLT:ILIM {num(self.limits.compliance)};:SENS:CURR:NPLC 0.01")
        self._mark([1], False)
        self.compliance = {1: self.limits.compliance}
        await self.check_errors()

    async def measure_current(self, channel: int = 1) -> float:
        self._check_channel(channel)
        return (await self._query_floats(":MEAS:CURR?", 1))[0]

    async def limit_tripped(self) -> bool:
        return (await self._query(":SOUR:VOLT:ILIM:TRIP?")).strip() == "1"

    async def read(self, volts: float, channel: int = 1) -> float:
        self._check_channel(channel)
        self.limits.check_read(volts)
        self._mark([1], True)
        value = (await self._query_floats(f":SOUR:VOLT:DEL 0;:SOUR:VOLT {num(volts)};:OUTP ON;:MEAS:CURR?;"
                                          ":OUTP OFF;:SOUR:VOLT 0", 1))[0]
        self._mark([1], False)
        return value

    async def pulse(self, volts: float, width: float, channel: int = 1) -> float:
        self._check_channel(channel)
        self.limits.check_pulse(volts, width)
        self._mark([1], True)
        await self._query(f":SOUR:VOLT:DEL {num(width)};:SOUR:VOLT {num(volts)};:OUTP ON;:OUTP OFF;"
                          ":SOUR:VOLT 0;:SOUR:VOLT:DEL 0;*OPC?", safe=False)
        self._mark([1], False)
        return float("nan")

    async def safe_state(self) -> None:
        await self._query(":OUTP OFF;:SOUR:VOLT 0;*OPC?")
        self._mark([1], False)
