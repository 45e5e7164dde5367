"""Keysight 33500B / 33600A function generator (SCPI), used as a pulse source for short programming pulses.

At connect the driver selects and verifies the modes it depends on, per channel: pulse function, high-impedance
load setting (levels are then the open-circuit voltages the matrix line receives behind the 50 ohm output), burst
on in triggered mode with one cycle, bus trigger, output off. A pulse sets the levels (positive: normal polarity,
low 0 V, high V; negative: inverted polarity, high 0 V, low V, so the output idles at 0 V either way), width and
edges (only what changed), then ``:OUTPn ON;*TRG;:OUTPn OFF;*OPC?`` in one message. The generator measures
nothing, so a pulse's current is NaN. Limits: the bench's (voltage, pulse width) and the model's (shortest width,
edge range, edge <= 0.625 x width, 10 V open circuit) are checked before anything is sent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from instruments._base import ScpiInstrument
from labctl.core.errors import InstrumentError, LimitError


@dataclass(frozen=True)
class GeneratorModel:
    """Pulse limits of one model, from its data sheet."""

    channels: int
    min_width: float  # s, 50 %-to-50 %
    min_edge: float  # s, 10-90 %
    max_edge: float = 1e-6  # s
    max_open_volts: float = 10.0  # |V| into high impedance (10 Vpp into 50 ohm)


_B = (16e-9, 8.4e-9)  # 33500B series
_A = (5e-9, 2.9e-9)  # 33600A series
MODELS: dict[str, GeneratorModel] = {
    **{m: GeneratorModel(1, *_B) for m in ("33509B", "33511B", "33521B")},
    **{m: GeneratorModel(2, *_B) for m in ("33510B", "33512B", "33522B")},
    **{m: GeneratorModel(1, *_A) for m in ("33611A", "33621A")},
    **{m: GeneratorModel(2, *_A) for m in ("33612A", "33622A")},
}
EDGE_FRACTION = 0.625  # edge time <= 0.625 x pulse width


def _num(v: float) -> str:
    return f"{v:.9g}"


class Keysight33500B(ScpiInstrument):
    channels = 2
    idn_models = tuple(MODELS)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.model = MODELS["33522B"]
        self.output_on: dict[int, bool] = {1: False, 2: False}
        self._state: dict[int, dict[str, float | str]] = {}

    def is_live(self, channel: int) -> bool:
        return self.output_on.get(channel, True)

    async def configure(self) -> None:
        idn = await self.identify()
        problem = self.identity_problem(idn)
        if problem:
            raise InstrumentError(problem)
        self.model = MODELS[idn.split(",")[1].strip().upper()]
        self.channels = self.model.channels
        self.output_on = {c: False for c in range(1, self.channels + 1)}
        parts = ["*CLS"]
        for c in range(1, self.channels + 1):
            parts += [f":OUTP{c} OFF", f":OUTP{c}:LOAD INF", f":SOUR{c}:FUNC PULS", f":SOUR{c}:FUNC:PULS:PER 1e-3",
                      f":SOUR{c}:VOLT:LOW 0", f":SOUR{c}:VOLT:HIGH 0.001", f":OUTP{c}:POL NORM",
                      f":SOUR{c}:BURS:MODE TRIG", f":SOUR{c}:BURS:NCYC 1", f":TRIG{c}:SOUR BUS",
                      f":SOUR{c}:BURS:STAT ON"]
        await self._write(";".join(parts))
        for c in range(1, self.channels + 1):
            query = f":SOUR{c}:FUNC?;:SOUR{c}:BURS:STAT?;:SOUR{c}:BURS:MODE?;:TRIG{c}:SOUR?;:OUTP{c}:LOAD?"
            reply = [x.strip() for x in (await self._query(query)).split(";")]
            ok = len(reply) == 5 and reply[:4] == ["PULS", "1", "TRIG", "BUS"]
            if not ok or not float(reply[4]) >= 9.9e37:
                raise InstrumentError(f"{self.name}: modes not set: {query!r} answered {';'.join(reply)!r} "
                                      "(expected PULS;1;TRIG;BUS;+9.9E+37)")
            self._state[c] = {"pol": "NORM", "lo": 0.0, "hi": 0.001, "per": 1e-3}
        await self.check_errors()

    def check_pulse(self, peaks: dict[int, float], width: float, edge: float) -> None:
        """Every limit of a pulse, before anything is sent (``LimitError`` names the field and the range)."""
        m = self.model
        for ch, v in peaks.items():
            if ch not in self.output_on:
                raise LimitError(f"{self.name}: channel = {ch} is out of range; allowed [1, {self.channels}]",
                                 field="channel")
            self.limits.check_pulse(v, width)
            if not abs(v) <= m.max_open_volts:
                raise LimitError(f"{self.name}: volts = {v:g} V is out of range; allowed [-{m.max_open_volts:g}, "
                                 f"{m.max_open_volts:g}] V (open circuit)", field="volts")
        if not width >= m.min_width:
            raise LimitError(f"{self.name}: width = {width:g} s is out of range; allowed >= {m.min_width:g} s "
                             "(the model's shortest pulse)", field="width")
        if not m.min_edge <= edge <= min(m.max_edge, EDGE_FRACTION * width):
            raise LimitError(f"{self.name}: edge = {edge:g} s is out of range; allowed [{m.min_edge:g}, "
                             f"{min(m.max_edge, EDGE_FRACTION * width):g}] s (<= {EDGE_FRACTION} x width)",
                             field="edge")

    def _channel_setup(self, ch: int, volts: float, width: float, edge: float) -> list[str]:
        """The commands that take channel ``ch`` from its cached state to this pulse (levels kept valid)."""
        st = self._state[ch]
        pol, lo, hi = ("NORM", 0.0, volts) if volts > 0 else ("INV", volts, 0.0)
        out: list[str] = []
        if st.get("pol") != pol:
            out.append(f":OUTP{ch}:POL {pol}")
        if (st.get("lo"), st.get("hi")) != (lo, hi):
            cur_hi = float(st.get("hi", 0.0))
            low_first = lo <= cur_hi - 1e-3
            cmds = [f":SOUR{ch}:VOLT:LOW {_num(lo)}", f":SOUR{ch}:VOLT:HIGH {_num(hi)}"]
            out += cmds if low_first else cmds[::-1]
        per = 2 * width + 1e-6
        if st.get("width") != width or st.get("per") != per:
            cmds = [f":SOUR{ch}:FUNC:PULS:PER {_num(per)}", f":SOUR{ch}:FUNC:PULS:WIDT {_num(width)}"]
            out += cmds if per >= float(st.get("per", 0.0)) else cmds[::-1]
        if st.get("edge") != edge:
            out.append(f":SOUR{ch}:FUNC:PULS:TRAN {_num(edge)}")
        self._state[ch] = {"pol": pol, "lo": lo, "hi": hi, "width": width, "per": per, "edge": edge}
        return out

    def edge_for(self, width: float) -> float:
        """The edge time used when none is given: the model's shortest, shortened to fit a short pulse."""
        return min(max(self.model.min_edge, 0.0), EDGE_FRACTION * width)

    async def pulse_channels(self, peaks: dict[int, float], width: float, *, edge: float | None = None) -> float:
        """One pulse on every listed channel at once (0 V channels stay off); returns NaN (nothing measured)."""
        e = self.edge_for(width) if edge is None else edge
        self.check_pulse(peaks, width, e)
        live = [c for c, v in sorted(peaks.items()) if v != 0.0]
        parts: list[str] = []
        for c in live:
            parts += self._channel_setup(c, peaks[c], width, e)
        parts += [f":OUTP{c} ON" for c in live] + ["*TRG"] + [f":OUTP{c} OFF" for c in live] + ["*OPC?"]
        for c in live:
            self.output_on[c] = True
        try:
            reply = (await self._query(";".join(parts), safe=False)).strip()
        except BaseException:
            self._state = {c: {} for c in self._state}  # unknown now: resend everything next time
            raise
        if reply != "1":
            self._state = {c: {} for c in self._state}
            raise InstrumentError(f"{self.name}: unexpected reply {reply!r} to a pulse (expected '1' from *OPC?)")
        for c in live:
            self.output_on[c] = False
        return math.nan

    async def pulse(self, volts: float, width: float, channel: int = 1) -> float:
        return await self.pulse_channels({channel: volts}, width)

    async def output_state(self, channel: int = 1) -> bool:
        return await self.query_bool(f":OUTP{channel}?")

    async def safe_state(self) -> None:
        chans = sorted(self.output_on)
        await self._query(";".join(f":OUTP{c} OFF" for c in chans) + ";*OPC?")
        for c in chans:
            self.output_on[c] = False
