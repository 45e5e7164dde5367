"""Simulated Keysight 33500B-series function generator (33522B: two channels), pulse mode, over the bench.

Levels are kept as open-circuit voltages behind the 50 ohm output; the load setting (``OUTPut:LOAD``, 50 ohm by
default, INF = high impedance) only scales what the instrument shows and accepts, as the real one does. A channel
with burst on in triggered mode idles at its low level (high level with inverted polarity) and, on ``*TRG`` or
``TRIGger<n>``, puts ``NCYCles`` trapezoid pulses on its line through the matrix (:meth:`SimBench.shaped_pulse`).
Continuous (non-burst) waveforms are not integrated: the line sits at the offset and each such output is recorded
in ``bench.events`` (see docs/instruments/keysight_33500b.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from sim_instruments.bench import SimBench
from sim_instruments.physics import Trapezoid
from sim_instruments.scpi import ScpiDevice, ScpiError, parse_bool, parse_number

R_OUT = 50.0
INF_LOAD = 9.9e37
FUNCTIONS = ("SIN", "SQU", "TRI", "RAMP", "PULS", "PRBS", "NOIS", "ARB", "DC")
_LONG = {"SINUSOID": "SIN", "SQUARE": "SQU", "TRIANGLE": "TRI", "PULSE": "PULS", "NOISE": "NOIS"}


class _Channel:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.func = "SIN"
        self.freq = 1e3
        self.phase = 0.0
        self.unit = "VPP"
        self.load = 50.0
        self.hi, self.lo = 0.1, -0.1  # open-circuit volts (0.1 Vpp into 50 ohm)
        self.polarity = "NORM"
        self.width = 1e-4
        self.lead = self.trail = 10e-9
        self.symmetry = 100.0
        self.freq_mode = "CW"
        self.output = False
        self.burst = False
        self.burst_mode = "TRIG"
        self.ncycles: float = 1
        self.burst_phase = 0.0
        self.gate_polarity = "NORM"
        self.burst_period = 1e-2
        self.trig_source = "IMM"
        self.trig_slope = "POS"
        self.trig_count: float = 1
        self.trig_delay = 0.0
        self.trig_timer = 1e-3

    @property
    def scale(self) -> float:
        """Shown volts per open-circuit volt at the load setting."""
        return 1.0 if self.load >= INF_LOAD else self.load / (self.load + R_OUT)

    @property
    def idle(self) -> float:
        if self.func == "PULS" and self.burst:
            return self.lo if self.polarity == "NORM" else self.hi
        return (self.hi + self.lo) / 2

    @property
    def peak(self) -> float:
        return self.hi if self.polarity == "NORM" else self.lo


class Sim33500B(ScpiDevice):
    idn = "Keysight Technologies,33522B,MY00000003,4.00-1.19-2.00-52-00"
    max_open_volts = 10.0  # |V| open circuit (10 Vpp into 50 ohm = 20 Vpp high impedance)
    min_width = 16e-9  # s
    min_edge, max_edge = 8.4e-9, 1e-6  # s, 10-90 %
    max_freq = 30e6  # Hz (33522B)

    def __init__(self, bench: SimBench, name: str) -> None:
        self.bench, self.name = bench, name
        self.ch = {1: _Channel(), 2: _Channel()}
        self.sync_on, self.sync_source = True, 1
        super().__init__()
        self.on_message = lambda: bench.advance(bench.timing.command)

    def _c(self, s: tuple[str, ...], index: int = 0) -> _Channel:
        text = s[index] if len(s) > index else ""
        n = int(text) if text else 1
        if n not in self.ch:
            raise ScpiError(-113, f"channel {n}")
        return self.ch[n]

    def _n(self, c: _Channel) -> int:
        return 1 if c is self.ch[1] else 2

    def reset(self) -> None:
        for n, c in self.ch.items():
            c.reset()
            self._sync_source(n)
        self.sync_on, self.sync_source = True, 1

    def _sync_source(self, n: int) -> None:
        """Mirror channel ``n``'s output state and idle level on the bench."""
        c = self.ch[n]
        src = self.bench.sources[(self.name, n)]
        with self.bench.lock:
            src.on, src.level = c.output, c.idle
        if (c.output and c.func not in ("PULS", "DC")) or (c.output and c.func == "PULS" and not c.burst):
            self.bench.events.append(f"t={self.bench.now():.6f}s: {self.name} ch{n} outputs a continuous "
                                     f"{c.func} waveform; the simulator holds its offset level instead")

    # --- level bookkeeping ---------------------------------------------------------------------------------
    def _set_levels(self, c: _Channel, hi: float, lo: float) -> None:
        if not (abs(hi) <= self.max_open_volts + 1e-12 and abs(lo) <= self.max_open_volts + 1e-12):
            raise ScpiError(-222, f"level beyond {self.max_open_volts * c.scale:g} V at this load")
        if hi - lo < 1e-3 - 1e-15:
            raise ScpiError(-222, "amplitude below 1 mVpp")
        c.hi, c.lo = hi, lo
        self._sync_source(self._n(c))

    def _num(self, a: list[str], low: float, high: float, default: float) -> float:
        return parse_number(a[0] if a else None, low=low, high=high, default=default)

    # --- command table -----------------------------------------------------------------------------------
    def commands(self) -> list[tuple[str, object]]:  # type: ignore[override]
        def func(a: list[str], s: tuple[str, ...]) -> None:
            word = (a[0] if a else "").upper()
            word = _LONG.get(word, word)
            if word not in FUNCTIONS:
                raise ScpiError(-224, word or "(none)")
            c = self._c(s)
            c.func = word
            self._sync_source(self._n(c))

        def amplitude(a: list[str], s: tuple[str, ...]) -> None:
            c = self._c(s)
            k = c.scale
            amp = self._num(a, 1e-3 * k, 2 * self.max_open_volts * k, 0.1 * k) / k
            mid = (c.hi + c.lo) / 2
            self._set_levels(c, mid + amp / 2, mid - amp / 2)

        def offset(a: list[str], s: tuple[str, ...]) -> None:
            c = self._c(s)
            k = c.scale
            off = self._num(a, -self.max_open_volts * k, self.max_open_volts * k, 0.0) / k
            half = (c.hi - c.lo) / 2
            self._set_levels(c, off + half, off - half)

        def high(a: list[str], s: tuple[str, ...]) -> None:
            c = self._c(s)
            k = c.scale
            self._set_levels(c, self._num(a, -self.max_open_volts * k, self.max_open_volts * k, 0.05 * k) / k, c.lo)

        def low(a: list[str], s: tuple[str, ...]) -> None:
            c = self._c(s)
            k = c.scale
            self._set_levels(c, c.hi, self._num(a, -self.max_open_volts * k, self.max_open_volts * k, -0.05 * k) / k)

        def load(a: list[str], s: tuple[str, ...]) -> None:
            c = self._c(s)
            word = (a[0] if a else "").upper()
            c.load = INF_LOAD if word in ("INF", "INFINITY", "MAX", "MAXIMUM") else self._num(a, 1.0, 1e4, 50.0)

        def width(a: list[str], s: tuple[str, ...]) -> None:
            c = self._c(s)
            w = self._num(a, self.min_width, 1e6, 1e-4)
            lim = 1.0 / c.freq - self.min_width
            if w > lim:
                c.width = lim
                raise ScpiError(-221, f"pulse width {w:g} s must be below period - {self.min_width:g} s")
            c.width = w
            self._fit_edges(c)

        def edge(which: str):  # type: ignore[no-untyped-def]
            def set_edge(a: list[str], s: tuple[str, ...]) -> None:
                c = self._c(s)
                e = self._num(a, self.min_edge, self.max_edge, 10e-9)
                if which in ("both", "lead"):
                    c.lead = e
                if which in ("both", "trail"):
                    c.trail = e
                self._fit_edges(c, raise_error=True)

            return set_edge

        def period(a: list[str], s: tuple[str, ...]) -> None:
            c = self._c(s)
            c.freq = 1.0 / self._num(a, 1.0 / self.max_freq, 1e6, 1e-3)

        def freq(a: list[str], s: tuple[str, ...]) -> None:
            self._c(s).freq = self._num(a, 1e-6, self.max_freq, 1e3)

        def output(a: list[str], s: tuple[str, ...]) -> None:
            c = self._c(s)
            c.output = parse_bool(a[0] if a else None)
            self._sync_source(self._n(c))

        def polarity(a: list[str], s: tuple[str, ...]) -> None:
            word = (a[0] if a else "").upper()[:3]
            if word not in ("NOR", "INV"):
                raise ScpiError(-224, word or "(none)")
            c = self._c(s)
            c.polarity = "NORM" if word == "NOR" else "INV"
            self._sync_source(self._n(c))

        def burst_state(a: list[str], s: tuple[str, ...]) -> None:
            c = self._c(s)
            c.burst = parse_bool(a[0] if a else None)
            self._sync_source(self._n(c))

        def ncycles(a: list[str], s: tuple[str, ...]) -> None:
            word = (a[0] if a else "").upper()
            self._c(s).ncycles = math.inf if word in ("INF", "INFINITY") else round(self._num(a, 1, 1e8, 1))

        def choice(attr: str, options: dict[str, str]):  # type: ignore[no-untyped-def]
            def set_choice(a: list[str], s: tuple[str, ...]) -> None:
                word = (a[0] if a else "").upper()
                for key, value in options.items():
                    if word.startswith(key):
                        setattr(self._c(s), attr, value)
                        return
                raise ScpiError(-224, word or "(none)")

            return set_choice

        def number(attr: str, low: float, high: float, default: float):  # type: ignore[no-untyped-def]
            def set_number(a: list[str], s: tuple[str, ...]) -> None:
                setattr(self._c(s), attr, self._num(a, low, high, default))

            return set_number

        def trigger_channel(a: list[str], s: tuple[str, ...]) -> None:
            self._fire([self._n(self._c(s))])

        def apply_pulse(a: list[str], s: tuple[str, ...]) -> None:
            c = self._c(s)
            c.func = "PULS"
            if a and a[0].upper() not in ("DEF", "DEFAULT"):
                freq(a[:1], s)
            if len(a) > 1:
                amplitude(a[1:2], s)
            if len(a) > 2:
                offset(a[2:3], s)
            c.output = True
            self._sync_source(self._n(c))

        def g(attr: str, fmt: str = "{:+.15E}"):  # type: ignore[no-untyped-def]
            return lambda a, s: fmt.format(getattr(self._c(s), attr))

        def shown(fn: Callable[[_Channel], float]) -> Callable[[list[str], tuple[str, ...]], str]:
            return lambda a, s: f"{fn(self._c(s)) * self._c(s).scale:+.15E}"

        return [
            ("[:SOURce#]:FUNCtion[:SHAPe]", func),
            ("[:SOURce#]:FUNCtion[:SHAPe]?", lambda a, s: self._c(s).func),
            ("[:SOURce#]:FREQuency[:CW]", freq),
            ("[:SOURce#]:FREQuency[:CW]?", g("freq")),
            ("[:SOURce#]:FREQuency:MODE", choice("freq_mode", {"CW": "CW", "FIX": "FIXED", "LIST": "LIST",
                                                               "SWE": "SWEEP"})),
            ("[:SOURce#]:FREQuency:MODE?", lambda a, s: self._c(s).freq_mode),
            ("[:SOURce#]:PHASe[:ADJust]", number("phase", -360.0, 360.0, 0.0)),
            ("[:SOURce#]:PHASe[:ADJust]?", g("phase")),
            ("[:SOURce#]:PHASe:SYNChronize", lambda a, s: None),
            ("[:SOURce#]:VOLTage[:LEVel][:IMMediate][:AMPLitude]", amplitude),
            ("[:SOURce#]:VOLTage[:LEVel][:IMMediate][:AMPLitude]?", shown(lambda c: c.hi - c.lo)),
            ("[:SOURce#]:VOLTage[:LEVel][:IMMediate]:OFFSet", offset),
            ("[:SOURce#]:VOLTage[:LEVel][:IMMediate]:OFFSet?", shown(lambda c: (c.hi + c.lo) / 2)),
            ("[:SOURce#]:VOLTage[:LEVel][:IMMediate]:HIGH", high),
            ("[:SOURce#]:VOLTage[:LEVel][:IMMediate]:HIGH?", shown(lambda c: c.hi)),
            ("[:SOURce#]:VOLTage[:LEVel][:IMMediate]:LOW", low),
            ("[:SOURce#]:VOLTage[:LEVel][:IMMediate]:LOW?", shown(lambda c: c.lo)),
            ("[:SOURce#]:VOLTage:UNIT", choice("unit", {"VPP": "VPP", "VRMS": "VRMS", "DBM": "DBM"})),
            ("[:SOURce#]:VOLTage:UNIT?", lambda a, s: self._c(s).unit),
            ("[:SOURce#]:FUNCtion:PULSe:WIDTh", width),
            ("[:SOURce#]:FUNCtion:PULSe:WIDTh?", g("width")),
            ("[:SOURce#]:FUNCtion:PULSe:TRANsition[:BOTH]", edge("both")),
            ("[:SOURce#]:FUNCtion:PULSe:TRANsition[:BOTH]?", g("lead")),
            ("[:SOURce#]:FUNCtion:PULSe:TRANsition:LEADing", edge("lead")),
            ("[:SOURce#]:FUNCtion:PULSe:TRANsition:LEADing?", g("lead")),
            ("[:SOURce#]:FUNCtion:PULSe:TRANsition:TRAiling", edge("trail")),
            ("[:SOURce#]:FUNCtion:PULSe:TRANsition:TRAiling?", g("trail")),
            ("[:SOURce#]:FUNCtion:PULSe:PERiod", period),
            ("[:SOURce#]:FUNCtion:PULSe:PERiod?", lambda a, s: f"{1.0 / self._c(s).freq:+.15E}"),
            ("[:SOURce#]:FUNCtion:RAMP:SYMMetry", number("symmetry", 0.0, 100.0, 100.0)),
            ("[:SOURce#]:FUNCtion:RAMP:SYMMetry?", g("symmetry")),
            ("[:SOURce#]:BURSt:STATe", burst_state),
            ("[:SOURce#]:BURSt:STATe?", lambda a, s: "1" if self._c(s).burst else "0"),
            ("[:SOURce#]:BURSt:MODE", choice("burst_mode", {"TRIG": "TRIG", "GAT": "GAT"})),
            ("[:SOURce#]:BURSt:MODE?", lambda a, s: self._c(s).burst_mode),
            ("[:SOURce#]:BURSt:NCYCles", ncycles),
            ("[:SOURce#]:BURSt:NCYCles?", lambda a, s: "9.9E+37" if self._c(s).ncycles == math.inf
             else f"{int(self._c(s).ncycles)}"),
            ("[:SOURce#]:BURSt:PHASe", number("burst_phase", -360.0, 360.0, 0.0)),
            ("[:SOURce#]:BURSt:PHASe?", g("burst_phase")),
            ("[:SOURce#]:BURSt:GATE:POLarity", choice("gate_polarity", {"NORM": "NORM", "INV": "INV"})),
            ("[:SOURce#]:BURSt:GATE:POLarity?", lambda a, s: self._c(s).gate_polarity),
            ("[:SOURce#]:BURSt:INTernal:PERiod", number("burst_period", 1e-6, 8e3, 1e-2)),
            ("[:SOURce#]:BURSt:INTernal:PERiod?", g("burst_period")),
            ("[:SOURce#]:APPLy:PULSe", apply_pulse),
            ("[:SOURce#]:APPLy?", lambda a, s: self._apply_query(self._c(s))),
            (":OUTPut#[:STATe]", output),
            (":OUTPut#[:STATe]?", lambda a, s: "1" if self._c(s).output else "0"),
            (":OUTPut#:LOAD", load),
            (":OUTPut#:LOAD?", lambda a, s: f"{self._c(s).load:+.15E}"),
            (":OUTPut#:POLarity", polarity),
            (":OUTPut#:POLarity?", lambda a, s: self._c(s).polarity),
            (":OUTPut:SYNC[:STATe]", lambda a, s: setattr(self, "sync_on", parse_bool(a[0] if a else None))),
            (":OUTPut:SYNC[:STATe]?", lambda a, s: "1" if self.sync_on else "0"),
            (":OUTPut:SYNC:SOURce", lambda a, s: setattr(self, "sync_source", self._sync_channel(a))),
            (":OUTPut:SYNC:SOURce?", lambda a, s: f"CH{self.sync_source}"),
            (":TRIGger#[:IMMediate]", trigger_channel),
            (":TRIGger#:SOURce", choice("trig_source", {"IMM": "IMM", "EXT": "EXT", "TIM": "TIM", "BUS": "BUS"})),
            (":TRIGger#:SOURce?", lambda a, s: self._c(s).trig_source),
            (":TRIGger#:SLOPe", choice("trig_slope", {"POS": "POS", "NEG": "NEG"})),
            (":TRIGger#:SLOPe?", lambda a, s: self._c(s).trig_slope),
            (":TRIGger#:COUNt", number("trig_count", 1, 1e6, 1)),
            (":TRIGger#:COUNt?", lambda a, s: f"{int(self._c(s).trig_count)}"),
            (":TRIGger#:DELay", number("trig_delay", 0.0, 1000.0, 0.0)),
            (":TRIGger#:DELay?", g("trig_delay")),
            (":TRIGger#:TIMer", number("trig_timer", 1e-6, 8000.0, 1e-3)),
            (":TRIGger#:TIMer?", g("trig_timer")),
            (":SYSTem:VERSion?", lambda a, s: "1999.0"),
        ]

    def trigger(self) -> None:
        """``*TRG``: fires every channel whose trigger source is BUS."""
        self._fire([n for n, c in self.ch.items() if c.trig_source == "BUS"])

    def _sync_channel(self, a: list[str]) -> int:
        word = (a[0] if a else "").upper()
        if word not in ("CH1", "CH2"):
            raise ScpiError(-224, word or "(none)")
        return int(word[2])

    def _apply_query(self, c: _Channel) -> str:
        k = c.scale
        return f'"{c.func} {c.freq:+.15E},{(c.hi - c.lo) * k:+.15E},{(c.hi + c.lo) / 2 * k:+.15E}"'

    def _fit_edges(self, c: _Channel, raise_error: bool = False) -> None:
        """Edges must fit the width (edge <= 0.625 x width, as the manual states): shorten them, -222 if asked."""
        top = 0.625 * c.width
        if c.lead > top or c.trail > top:
            c.lead, c.trail = min(c.lead, max(top, self.min_edge)), min(c.trail, max(top, self.min_edge))
            if raise_error:
                raise ScpiError(-222, f"edge time must be <= 0.625 x pulse width ({top:g} s); adjusted")

    def _fire(self, channels: list[int]) -> None:
        """A trigger: every listed channel in triggered pulse-burst mode with its output on pulses at once."""
        armed = [n for n in channels if (c := self.ch[n]).output and c.func == "PULS" and c.burst
                 and c.burst_mode == "TRIG"]
        if not armed:
            return
        c0 = self.ch[armed[0]]
        timing = (c0.width, c0.lead, c0.trail, c0.ncycles, c0.freq)
        if any((c.width, c.lead, c.trail, c.ncycles, c.freq) != timing for c in (self.ch[n] for n in armed[1:])):
            raise ScpiError(-221, "simulator: channels triggered together need the same pulse timing")
        if c0.ncycles == math.inf:
            raise ScpiError(-221, "simulator: an infinite burst is not modelled")
        shape = Trapezoid(c0.width, c0.lead, c0.trail)
        peaks = {(self.name, n): self.ch[n].peak for n in armed}
        self.bench.shaped_pulse(peaks, shape, int(c0.ncycles), 1.0 / c0.freq)
