"""Keithley 2450 SMU (SCPI command set). Compliance is the source limit ``:SOUR:VOLT:ILIM``.

The 2450 has no pulse subsystem: a pulse is a timed hold, the source delay ``:SOUR:VOLT:DEL`` after ``:OUTP ON``,
then a reading (``:MEAS:CURR?``, one aperture = NPLC / line frequency), then output off, as the instrument sources
and measures. The hold is the width less one aperture, so the level is on for the pulse width and the current
returned is the one at the end of the pulse. A pulse no longer than one aperture (0.01 NPLC: 200 µs at 50 Hz)
cannot be measured: it is the bare hold, and its current is NaN.
"""

from __future__ import annotations

from instruments._smu import SingleChannelSmu, num
from labctl.core.errors import InstrumentError
from labctl.core.smu_limits import SMU_LIMITS

NPLC = 0.01
"""Integration time of every reading, power-line cycles (the 2450's fastest). Autozero is off (``configure``), so a
reading is one aperture long and a pulse's length is known."""


class Keithley2450(SingleChannelSmu):
    compliance_command = ":SOUR:VOLT:ILIM"
    hardware = SMU_LIMITS["keithley_2450"]
    idn_models = ("2450",)
    line_frequency: float | None = None  # Hz, from :SYST:LFR? on first use

    async def configure(self) -> None:
        await self.identify()
        lang = (await self._query("*LANG?")).strip().upper()
        if lang != "SCPI":
            raise InstrumentError(f"{self.name}: command set is {lang!r}; set *LANG SCPI and power-cycle")
        await self._write(f"*CLS;:OUTP OFF;:SOUR:FUNC VOLT;:SENS:FUNC \"CURR\";:SOUR:VOLT 0;"
                          f":SOUR:VOLT:ILIM {num(self.limits.compliance)};:SENS:CURR:NPLC {num(NPLC)};"
                          ":SENS:CURR:AZER OFF;:SENS:COUN 1;:SENS:CURR:AVER OFF;:SOUR:VOLT:DEL 0")
        self._mark([1], False)
        self.compliance = {1: self.limits.compliance}
        await self.check_errors()
        await self.verify([(":OUTP?", "0"), (":SOUR:FUNC?", "VOLT"), (":SENS:FUNC?", '"CURR:DC"'),
                           (":SOUR:VOLT:ILIM?", num(self.limits.compliance)), (":SENS:CURR:NPLC?", num(NPLC)),
                           (":SENS:CURR:AZER?", "0"), (":SENS:COUN?", "1"), (":SENS:CURR:AVER?", "0")])

    async def measure_current(self, channel: int = 1) -> float:
        self._check_channel(channel)
        return (await self._query_floats(":MEAS:CURR?", 1))[0]

    async def limit_tripped(self) -> bool:
        return await self.query_bool(":SOUR:VOLT:ILIM:TRIP?")

    async def read(self, volts: float, channel: int = 1) -> float:
        self._check_channel(channel)
        self.limits.check_read(volts)
        self._mark([1], True)
        value = (await self._query_floats(f":SOUR:VOLT:DEL 0;:SOUR:VOLT {num(volts)};:OUTP ON;:MEAS:CURR?;"
                                          ":OUTP OFF;:SOUR:VOLT 0", 1))[0]
        self._mark([1], False)
        return value

    async def aperture(self) -> float:
        """One reading's aperture, s (NPLC / line frequency; ``:SYST:LFR?`` asked once)."""
        if self.line_frequency is None:
            self.line_frequency = (await self._query_floats(":SYST:LFR?", 1))[0]
        return NPLC / self.line_frequency

    async def pulse(self, volts: float, width: float, channel: int = 1) -> float:
        """Hold ``volts`` for ``width`` s; return the current read over the pulse's last aperture (NaN when the
        pulse is no longer than one aperture). Never repeated."""
        self._check_channel(channel)
        self.limits.check_pulse(volts, width)
        hold = width - await self.aperture()
        self._mark([1], True)
        if hold > 0:
            value = (await self._query_floats(f":SOUR:VOLT:DEL {num(hold)};:SOUR:VOLT {num(volts)};:OUTP ON;"
                                              ":MEAS:CURR?;:OUTP OFF;:SOUR:VOLT 0;:SOUR:VOLT:DEL 0", 1,
                                              safe=False))[0]
        else:
            await self._query(f":SOUR:VOLT:DEL {num(width)};:SOUR:VOLT {num(volts)};:OUTP ON;:OUTP OFF;"
                              ":SOUR:VOLT 0;:SOUR:VOLT:DEL 0;*OPC?", safe=False)
            value = float("nan")
        self._mark([1], False)
        return value

    async def safe_state(self) -> None:
        await self._query(":OUTP OFF;:SOUR:VOLT 0;*OPC?")
        self._mark([1], False)
