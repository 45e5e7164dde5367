"""Keithley 2400 SMU over RS-232 (pyserial). Compliance is ``:SENS:CURR:PROT``; readings are trimmed to the
current with ``:FORM:ELEM CURR``. A pulse is output on, ``*OPC?`` round trip, output off (ms-class, honest)."""

from __future__ import annotations

from instruments._smu import SingleChannelSmu, num
from labctl.core.smu_limits import SMU_LIMITS


class Keithley2400(SingleChannelSmu):
    compliance_command = ":SENS:CURR:PROT"
    hardware = SMU_LIMITS["keithley_2400"]
    idn_models = ("2400", "2401")

    async def configure(self) -> None:
        await self.identify()
        await self._write(f"*CLS;:OUTP OFF;:SOUR:FUNC VOLT;:SOUR:VOLT:MODE FIX;:SENS:FUNC:CONC OFF;"
                          f":SENS:FUNC \"CURR\";:SOUR:VOLT 0;:SENS:CURR:PROT {num(self.limits.compliance)};"
                          ":FORM:DATA ASC;:FORM:ELEM CURR;:SENS:CURR:NPLC 0.01;:SOUR:CLE:AUTO OFF;:ARM:SOUR IMM;"
                          ":ARM:COUN 1;:TRIG:SOUR IMM;:TRIG:COUN 1")
        self._mark([1], False)
        self.compliance = {1: self.limits.compliance}
        await self.check_errors()
        await self.verify([(":OUTP?", "0"), (":SOUR:FUNC?", "VOLT"), (":SENS:FUNC?", '"CURR:DC"'),
                           (":SENS:CURR:PROT?", num(self.limits.compliance)), (":FORM:ELEM?", "CURR"),
                           (":SENS:CURR:NPLC?", "0.01"), (":SOUR:CLE:AUTO?", "0"), (":ARM:COUN?", "1"),
                           (":TRIG:COUN?", "1")])

    async def measure_current(self, channel: int = 1) -> float:
        self._check_channel(channel)
        return (await self._query_floats(":READ?", 1))[0]

    async def read(self, volts: float, channel: int = 1) -> float:
        self._check_channel(channel)
        self.limits.check_read(volts)
        self._mark([1], True)
        value = (await self._query_floats(f":SOUR:VOLT {num(volts)};:OUTP ON;:READ?;:OUTP OFF;:SOUR:VOLT 0",
                                          1))[0]
        self._mark([1], False)
        return value

    async def pulse(self, volts: float, width: float, channel: int = 1) -> float:
        self._check_channel(channel)
        self.limits.check_pulse(volts, width)
        self._mark([1], True)
        value = (await self._query_floats(f":SOUR:VOLT {num(volts)};:OUTP ON;:READ?;:OUTP OFF;:SOUR:VOLT 0", 1,
                                          safe=False))[0]
        self._mark([1], False)
        return value

    async def safe_state(self) -> None:
        await self._query(":OUTP OFF;:SOUR:VOLT 0;*OPC?")
        self._mark([1], False)
