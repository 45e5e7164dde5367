"""Keysight B2902 two-channel SMU (SCPI): DC reads, synchronous pulses on both channels, trigger-bus arming.

Compliance is ``:SENS<c>:CURR:PROT``; a pulse is ``:SOUR<c>:FUNC:SHAP PULS`` with base ``:SOUR<c>:VOLT`` and peak
``:SOUR<c>:VOLT:TRIG``, width ``:SOUR<c>:PULS:WIDT``, fired by ``:INIT (@list)`` on the internal trigger (both
listed channels together) and read back with ``:FETC:CURR? (@c)``. A channel armed with ``:TRIG<c>:SOUR EXT1``
waits for another instrument's trigger instead.
"""

from __future__ import annotations

from instruments._smu import SmuBase


def _num(v: float) -> str:
    return f"{v:.6g}"


class KeysightB2902(SmuBase):
    channels = 2

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._shape: dict[int, str] = {}
        self._width: dict[int, float] = {}
        self._trig: dict[int, str] = {}

    async def configure(self) -> None:
        await self.identify()
        c = _num(self.limits.compliance)
        await self._write(f"*CLS;:OUTP1 OFF;:OUTP2 OFF;:SOUR1:FUNC:MODE VOLT;:SOUR2:FUNC:MODE VOLT;"
                          f":SENS1:CURR:PROT {c};:SENS2:CURR:PROT {c};:SENS1:CURR:NPLC 0.01;:SENS2:CURR:NPLC 0.01;"
                          ":SOUR1:VOLT 0;:SOUR2:VOLT 0;:SOUR1:FUNC:SHAP DC;:SOUR2:FUNC:SHAP DC;"
                          ":TRIG1:SOUR AINT;:TRIG2:SOUR AINT")
        self._mark([1, 2], False)
        self.compliance = {1: self.limits.compliance, 2: self.limits.compliance}
        self._shape = {1: "DC", 2: "DC"}
        self._trig = {1: "AINT", 2: "AINT"}
        self._width = {}
        await self.check_errors()

    def _forget(self) -> None:
        self._shape, self._width, self._trig = {}, {}, {}

    def _shape_cmd(self, channel: int, shape: str) -> str:
        if self._shape.get(channel) == shape:
            return ""
        self._shape[channel] = shape
        return f":SOUR{channel}:FUNC:SHAP {shape};"

    def _trig_cmd(self, channel: int, source: str) -> str:
        if self._trig.get(channel) == source:
            return ""
        self._trig[channel] = source
        return f":TRIG{channel}:SOUR {source};"

    # --- SourceMeasureUnit ----------------------------------------------------------------------------------
    async def set_compliance(self, amps: float, channel: int = 1) -> None:
        self._check_channel(channel)
        self.limits.check_compliance(amps)
        await self._write(f":SENS{channel}:CURR:PROT {_num(amps)}")
        self.compliance[channel] = amps

    async def set_voltage(self, volts: float, channel: int = 1) -> None:
        self._check_channel(channel)
        self.limits.check_level(volts)
        await self._write(f":SOUR{channel}:VOLT {_num(volts)}")

    async def output(self, on: bool, channel: int = 1) -> None:
        self._check_channel(channel)
        if on:
            self._mark([channel], True)
        await self._write(f":OUTP{channel} {'ON' if on else 'OFF'}")
        if not on:
            self._mark([channel], False)

    async def measure_current(self, channel: int = 1) -> float:
        self._check_channel(channel)
        return (await self._query_floats(f":MEAS:CURR? (@{channel})", 1))[0]

    async def read(self, volts: float, channel: int = 1) -> float:
        """Source ``volts`` on ``channel``, measure its current, output off again: one round trip."""
        self._check_channel(channel)
        self.limits.check_read(volts)
        msg = (self._shape_cmd(channel, "DC") + f":SOUR{channel}:VOLT {_num(volts)};:OUTP{channel} ON;"
               f":MEAS:CURR? (@{channel});:OUTP{channel} OFF;:SOUR{channel}:VOLT 0")
        self._mark([channel], True)
        value = (await self._query_floats(msg, 1))[0]
        self._mark([channel], False)
        return value

    async def read_pair(self, drive: int, volts: float, sense: int) -> float:
        """Drive ``volts`` on one channel, hold the other at 0 V and return the current into the sense channel.
        Both outputs are off again when the reply arrives (one round trip)."""
        self._check_channel(drive)
        self._check_channel(sense)
        self.limits.check_read(volts)
        msg = (self._shape_cmd(drive, "DC") + self._shape_cmd(sense, "DC")
               + f":SOUR{drive}:VOLT {_num(volts)};:SOUR{sense}:VOLT 0;:OUTP{sense} ON;:OUTP{drive} ON;"
               f":MEAS:CURR? (@{sense});:OUTP{drive} OFF;:OUTP{sense} OFF;:SOUR{drive}:VOLT 0")
        self._mark([drive, sense], True)
        value = (await self._query_floats(msg, 1))[0]
        self._mark([drive, sense], False)
        return value

    async def read_with_bias(self, drive: int, volts: float, biases: list[int]) -> float:
        """Drive and bias channels all at ``volts`` (DC), measure the drive channel, outputs off (one round trip)."""
        self._check_channel(drive)
        self.limits.check_read(volts)
        chans = sorted({drive, *biases})
        v = _num(volts)
        msg = ("".join(self._shape_cmd(c, "DC") for c in chans)
               + "".join(f":SOUR{c}:VOLT {v};" for c in chans) + "".join(f":OUTP{c} ON;" for c in chans)
               + f":MEAS:CURR? (@{drive});" + ";".join(f":OUTP{c} OFF;:SOUR{c}:VOLT 0" for c in chans))
        self._mark(chans, True)
        value = (await self._query_floats(msg, 1))[0]
        self._mark(chans, False)
        return value

    async def pulse(self, volts: float, width: float, channel: int = 1) -> float:
        return (await self.pulse_channels({channel: volts}, width, measure=channel))

    def _pulse_setup(self, peaks: dict[int, float], width: float, trigger: str) -> str:
        parts = []
        for ch, v in sorted(peaks.items()):
            self._check_channel(ch)
            self.limits.check_pulse(v, width)
            parts.append(self._shape_cmd(ch, "PULS") + self._trig_cmd(ch, trigger))
            if self._width.get(ch) != width:
                parts.append(f":SOUR{ch}:PULS:WIDT {_num(width)};")
                self._width[ch] = width
            parts.append(f":SOUR{ch}:VOLT 0;:SOUR{ch}:VOLT:TRIG {_num(v)};:OUTP{ch} ON;")
        return "".join(parts)

    async def pulse_channels(self, peaks: dict[int, float], width: float, *, measure: int) -> float:
        """One pulse on every channel in ``peaks`` at once (from 0 V base, same width), fired with any channels
        armed on the trigger bus; outputs off again afterwards. Returns ``measure``'s current at the peak.
        Never retried: a failure raises with the outcome unknown."""
        chans = sorted(peaks)
        setup = self._pulse_setup(peaks, width, "AINT")
        lst = ",".join(str(c) for c in chans)
        msg = (setup + f":INIT (@{lst});:FETC:CURR? (@{measure});"
               + ";".join(f":OUTP{c} OFF" for c in chans))
        self._mark(chans, True)
        try:
            value = (await self._query_floats(msg, 1, safe=False))[0]
        except BaseException:
            self._forget()
            raise
        self._mark(chans, False)
        return value

    async def arm(self, peaks: dict[int, float], width: float) -> None:
        """Arm channels to pulse on the external trigger (another instrument's ``:INIT``); confirms the arm."""
        chans = sorted(peaks)
        setup = self._pulse_setup(peaks, width, "EXT1")
        lst = ",".join(str(c) for c in chans)
        self._mark(chans, True)
        try:
            cond = await self._query_floats(setup + f":INIT (@{lst});:STAT:OPER:COND?", 1, safe=False)
        except BaseException:
            self._forget()
            raise
        bits = int(cond[0])
        for c in chans:
            if not bits & (1 << (1 if c == 1 else 7)):
                from labctl.core.errors import InstrumentError

                raise InstrumentError(f"{self.name}: channel {c} did not arm (status {bits})")

    async def outputs_off(self, channels: list[int] | None = None) -> None:
        """Outputs off, confirmed (``*OPC?``), trigger bus disarmed."""
        chans = channels or [1, 2]
        await self._query(";".join(f":OUTP{c} OFF" for c in chans) + ";:ABOR;*OPC?")
        self._mark(chans, False)

    async def safe_state(self) -> None:
        await self._query(":ABOR;:OUTP1 OFF;:OUTP2 OFF;:SOUR1:VOLT 0;:SOUR2:VOLT 0;*OPC?")
        self._mark([1, 2], False)
