"""Keysight B2902 two-channel SMU (SCPI): DC reads, synchronous pulses on both channels, trigger-bus arming.

Compliance is ``:SENS<c>:CURR:PROT``; a pulse is ``:SOUR<c>:FUNC:SHAP PULS`` with base ``:SOUR<c>:VOLT`` and peak
``:SOUR<c>:VOLT:TRIG``, width ``:SOUR<c>:PULS:WIDT``, fired by ``:INIT (@list)`` on the internal trigger (both
listed channels together) and read back with ``:FETC:CURR? (@c)``. A channel armed with ``:TRIG<c>:SOUR EXT1``
waits for another instrument's trigger instead. ``pulse_and_read`` sends a pulse and the DC verify read after it
as one program message (two queries, one response message ``<pulse current>;<read current>``).

The driver remembers what it last set (shape, width, trigger source, DC level per channel) and leaves out
commands that would not change anything; any failure forgets it all, so the next message sets everything again.
"""

from __future__ import annotations

from instruments._smu import SmuBase
from labctl.core.smu_limits import SMU_LIMITS


def _num(v: float) -> str:
    return f"{v:.6g}"


class KeysightB2902(SmuBase):
    channels = 2
    min_pulse_width = 5e-5  # s: the shortest pulse of the B2900A pulse mode
    hardware = SMU_LIMITS["keysight_b2902"]
    idn_models = ("B2902A", "B2902B", "B2912A", "B2912B")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._shape: dict[int, str] = {}
        self._width: dict[int, float] = {}
        self._trig: dict[int, str] = {}
        self._level: dict[int, float] = {}  # DC (pulse base) level

    async def configure(self) -> None:
        await self.identify()
        c = _num(self.limits.compliance)
        await self._write(f"*CLS;:OUTP1 OFF;:OUTP2 OFF;:SOUR1:FUNC:MODE VOLT;:SOUR2:FUNC:MODE VOLT;"
                          f":SENS1:CURR:PROT {c};:SENS2:CURR:PROT {c};:SENS1:CURR:NPLC 0.01;:SENS2:CURR:NPLC 0.01;"
                          ":SOUR1:VOLT 0;:SOUR2:VOLT 0;:SOUR1:FUNC:SHAP DC;:SOUR2:FUNC:SHAP DC;"
                          ":TRIG1:SOUR AINT;:TRIG2:SOUR AINT;:SOUR1:VOLT:MODE FIX;:SOUR2:VOLT:MODE FIX;:FORM ASC")
        self._mark([1, 2], False)
        self.compliance = {1: self.limits.compliance, 2: self.limits.compliance}
        self._shape = {1: "DC", 2: "DC"}
        self._trig = {1: "AINT", 2: "AINT"}
        self._level = {1: 0.0, 2: 0.0}
        self._width = {}
        await self.check_errors()
        await self.verify([(f":OUTP{n}?", "0") for n in (1, 2)] + [(f":SOUR{n}:FUNC:MODE?", "VOLT") for n in (1, 2)]
                          + [(f":SENS{n}:CURR:PROT?", c) for n in (1, 2)]
                          + [(f":SOUR{n}:FUNC:SHAP?", "DC") for n in (1, 2)]
                          + [(f":TRIG{n}:TRAN:SOUR?", "AINT") for n in (1, 2)]
                          + [(f":SENS{n}:CURR:NPLC?", "0.01") for n in (1, 2)])

    def _forget(self) -> None:
        """The instrument's state is unknown (a failed or unanswered message): cache nothing."""
        self._shape, self._width, self._trig, self._level = {}, {}, {}, {}

    def _shape_cmd(self, channel: int, shape: str) -> str:
        if self._shape.get(channel) == shape:
            return ""
        self._shape[channel] = shape
        return f":SOUR{channel}:FUNC:SHAP {shape};"

    def _level_cmd(self, channel: int, volts: float) -> str:
        if self._level.get(channel) == volts:
            return ""
        self._level[channel] = volts
        return f":SOUR{channel}:VOLT {_num(volts)};"

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
        self._level.pop(channel, None)
        await self._write(f":SOUR{channel}:VOLT {_num(volts)}")
        self._level[channel] = volts

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

    async def _ask(self, msg: str, count: int, *, safe: bool) -> list[float]:
        """A message built against the cached settings; a failure forgets them. ``safe`` (reads): the same
        message may be repeated (it sets the same state again); pulses never are."""
        try:
            return await self._query_floats(msg, count, safe=safe)
        except BaseException:
            self._forget()
            raise

    async def read(self, volts: float, channel: int = 1) -> float:
        """Source ``volts`` on ``channel``, measure its current, output off again: one round trip."""
        return await self.read_with_bias(channel, volts, [])

    async def read_pair(self, drive: int, volts: float, sense: int) -> float:
        """Drive ``volts`` on one channel, hold the other at 0 V and return the current into the sense channel.
        Both outputs are off again when the reply arrives (one round trip)."""
        self._check_channel(drive)
        self._check_channel(sense)
        self.limits.check_read(volts)
        msg = (self._shape_cmd(drive, "DC") + self._shape_cmd(sense, "DC") + self._level_cmd(drive, volts)
               + self._level_cmd(sense, 0.0) + f":OUTP{sense} ON;:OUTP{drive} ON;"
               f":MEAS:CURR? (@{sense});:OUTP{drive} OFF;:OUTP{sense} OFF;" + self._level_cmd(drive, 0.0))
        self._mark([drive, sense], True)
        value = (await self._ask(msg.rstrip(";"), 1, safe=True))[0]
        self._mark([drive, sense], False)
        return value

    def _check_read_bias(self, drive: int, volts: float, biases: list[int]) -> None:
        for c in (drive, *biases):
            self._check_channel(c)
        self.limits.check_read(volts)

    def _read_bias(self, drive: int, volts: float, biases: list[int]) -> tuple[str, list[int]]:
        """Commands of a DC read (checked first): drive and biases at ``volts``, measure drive, all off at 0 V."""
        self._check_read_bias(drive, volts, biases)
        chans = sorted({drive, *biases})
        msg = ("".join(self._shape_cmd(c, "DC") for c in chans) + "".join(self._level_cmd(c, volts) for c in chans)
               + "".join(f":OUTP{c} ON;" for c in chans) + f":MEAS:CURR? (@{drive});"
               + "".join(f":OUTP{c} OFF;" + self._level_cmd(c, 0.0) for c in chans))
        return msg, chans

    async def read_with_bias(self, drive: int, volts: float, biases: list[int]) -> float:
        """Drive and bias channels all at ``volts`` (DC), measure the drive channel, outputs off (one round trip)."""
        msg, chans = self._read_bias(drive, volts, biases)
        self._mark(chans, True)
        value = (await self._ask(msg.rstrip(";"), 1, safe=True))[0]
        self._mark(chans, False)
        return value

    async def pulse(self, volts: float, width: float, channel: int = 1) -> float:
        return (await self.pulse_channels({channel: volts}, width, measure=channel))

    def _check_pulse(self, peaks: dict[int, float], width: float) -> None:
        for ch, v in peaks.items():
            self._check_channel(ch)
            self.limits.check_pulse(v, width)

    def _pulse_setup(self, peaks: dict[int, float], width: float, trigger: str) -> str:
        """Setup commands of a pulse; every channel and level is checked before any cached state changes."""
        self._check_pulse(peaks, width)
        parts = []
        for ch, v in sorted(peaks.items()):
            parts.append(self._shape_cmd(ch, "PULS") + self._trig_cmd(ch, trigger))
            if self._width.get(ch) != width:
                parts.append(f":SOUR{ch}:PULS:WIDT {_num(width)};")
                self._width[ch] = width
            parts.append(self._level_cmd(ch, 0.0) + f":SOUR{ch}:VOLT:TRIG {_num(v)};:OUTP{ch} ON;")
        return "".join(parts)

    async def pulse_channels(self, peaks: dict[int, float], width: float, *, measure: int) -> float:
        """One pulse on every channel in ``peaks`` at once (from 0 V base, same width), fired with any channels
        armed on the trigger bus; outputs off again afterwards. Returns ``measure``'s current at the peak.
        Never retried: a failure raises with the outcome unknown."""
        chans = sorted(peaks)
        msg = self._pulse_message(peaks, width, measure)
        self._mark(chans, True)
        value = (await self._ask(msg, 1, safe=False))[0]
        self._mark(chans, False)
        return value

    def _pulse_message(self, peaks: dict[int, float], width: float, measure: int) -> str:
        self._check_channel(measure)  # before _pulse_setup (which checks the peaks) changes the cache
        chans = sorted(peaks)
        setup = self._pulse_setup(peaks, width, "AINT")
        lst = ",".join(str(c) for c in chans)
        return setup + f":INIT (@{lst});:FETC:CURR? (@{measure});" + ";".join(f":OUTP{c} OFF" for c in chans)

    async def pulse_and_read(self, peaks: dict[int, float], width: float, *, measure: int, read_volts: float,
                             biases: list[int]) -> tuple[float, float]:
        """A pulse as :meth:`pulse_channels`, then the DC read of :meth:`read_with_bias` (``measure`` at
        ``read_volts``, ``biases`` at the same level), in one program message: one round trip. Every limit is
        checked before anything is sent; never retried. Returns (current at the pulse peak, read current)."""
        self._check_pulse(peaks, width)
        self._check_read_bias(measure, read_volts, biases)  # measure first; before the pulse changes the cache
        chans = sorted({*peaks, measure, *biases})
        pulse = self._pulse_message(peaks, width, measure)
        read, _ = self._read_bias(measure, read_volts, biases)
        self._mark(chans, True)
        values = await self._ask(pulse + ";" + read.rstrip(";"), 2, safe=False)
        self._mark(chans, False)
        return values[0], values[1]

    async def arm(self, peaks: dict[int, float], width: float) -> None:
        """Arm channels to pulse on the external trigger (another instrument's ``:INIT``); confirms the arm."""
        chans = sorted(peaks)
        setup = self._pulse_setup(peaks, width, "EXT1")
        lst = ",".join(str(c) for c in chans)
        self._mark(chans, True)
        value = (await self._ask(setup + f":INIT (@{lst});:STAT:OPER:COND?", 1, safe=False))[0]
        if value != int(value) or value < 0:
            raise self.unexpected(":STAT:OPER:COND?", repr(value), "a status register (integer >= 0)")
        bits = int(value)
        for c in chans:
            if not bits & (1 << (1 if c == 1 else 7)):
                from labctl.core.errors import InstrumentError

                raise InstrumentError(f"{self.name}: channel {c} did not arm (status {bits})")

    async def outputs_off(self, channels: list[int] | None = None) -> None:
        """Outputs off, confirmed (``*OPC?``), trigger bus disarmed."""
        chans = channels or [1, 2]
        await self._query(";".join(f":OUTP{c} OFF" for c in chans) + ";:ABOR;*OPC?")
        self._mark(chans, False)

    async def source_limit(self, channel: int = 1) -> float:
        self._check_channel(channel)
        return (await self._query_floats(f":SENS{channel}:CURR:PROT?", 1))[0]

    async def output_state(self, channel: int = 1) -> bool:
        self._check_channel(channel)
        return await self.query_bool(f":OUTP{channel}?")

    async def safe_state(self) -> None:
        self._forget()
        await self._query(":ABOR;:OUTP1 OFF;:OUTP2 OFF;:SOUR1:VOLT 0;:SOUR2:VOLT 0;*OPC?")
        self._level = {1: 0.0, 2: 0.0}
        self._mark([1, 2], False)
