"""Simulated Keithley 2450 (SCPI command set): compliance is the source limit ``:SOUR:VOLT:ILIM``."""

from __future__ import annotations

from sim_instruments.bench import SimBench
from sim_instruments.scpi import ScpiDevice, ScpiError, parse_bool, parse_number

OVERFLOW = 9.9e37
"""The reading a Keithley SMU returns when the current exceeds its fixed measure range."""


class CurrentRange:
    """The current measure range of a Keithley SMU: fixed (a reading above 105 % of it overflows, ``OVERFLOW``)
    or AUTO (the smallest range that holds the reading); a reading resolves ``resolution`` of its range
    (2450: 1e-6, 6.5 digits, 10 fA on the 10 nA range; 2400: 1e-5, 5.5 digits)."""

    OVERRANGE = 1.05

    def __init__(self, ranges: tuple[float, ...], resolution: float) -> None:
        self.ranges = ranges
        self.resolution = resolution
        self.reset()

    def reset(self) -> None:
        """Power-on state: autorange, on the top range."""
        self.auto = True
        self.range = self.ranges[-1]

    def set(self, amps: float) -> None:
        """A fixed range: the smallest one that holds ``amps`` (autorange off, as on the instrument)."""
        self.range = next(r for r in self.ranges if amps <= r * (1 + 1e-9))
        self.auto = False

    def reading(self, amps: float) -> float:
        if self.auto:
            self.range = next((r for r in self.ranges if abs(amps) <= r * self.OVERRANGE), self.ranges[-1])
        if abs(amps) > self.range * self.OVERRANGE:
            return OVERFLOW
        step = self.range * self.resolution
        return round(amps / step) * step

    def commands(self, prefix: str) -> list[tuple[str, object]]:
        """The ``:SENS:CURR:RANG`` subtree under ``prefix`` (e.g. ``:SENSe#:CURRent[:DC]``)."""
        top = self.ranges[-1]

        def rang(a: list[str], s: tuple[str, ...]) -> None:
            self.set(parse_number(a[0] if a else None, low=0.0, high=top, default=top))

        def auto(a: list[str], s: tuple[str, ...]) -> None:
            self.auto = parse_bool(a[0] if a else None)

        return [
            (f"{prefix}:RANGe[:UPPer]", rang),
            (f"{prefix}:RANGe[:UPPer]?", lambda a, s: f"{self.range:+.6E}"),
            (f"{prefix}:RANGe:AUTO", auto),
            (f"{prefix}:RANGe:AUTO?", lambda a, s: "1" if self.auto else "0"),
        ]


class KeithleySmu(ScpiDevice):
    """What the simulated 2400 and 2450 share: channel 1 of the bench's sources, a :class:`CurrentRange`, the
    per-message parse/execute time (``timing.command``), NPLC and autozero (the conversion time they give), and
    the ``*RST`` state of the source and of NPLC/autozero."""

    max_volts = 210.0
    max_amps = 1.05
    line_frequency: float
    current_ranges: tuple[float, ...] = ()
    resolution = 1e-6

    def __init__(self, bench: SimBench, name: str) -> None:
        self.bench, self.name = bench, name
        self.key = (name, 1)
        self.nplc = 1.0
        self.autozero = True
        self.range = CurrentRange(self.current_ranges, self.resolution)
        super().__init__()
        self.on_message = lambda: bench.advance(bench.timing.command)

    def reset(self) -> None:
        src = self.bench.sources[self.key]
        src.on, src.level, src.limit, src.tripped = False, 0.0, 1.05e-4, False
        self.nplc, self.autozero = 1.0, True
        self.range.reset()

    def _conversion_time(self) -> float:
        """The conversions of one reading, s: NPLC / line frequency, three of them with autozero on (signal,
        reference and zero)."""
        return self.nplc / self.line_frequency * (3 if self.autozero else 1)

    def _autozero_once(self) -> None:
        """A reference and a zero conversion, now (``AZER:ONCE``)."""
        self.bench.advance(2 * self.nplc / self.line_frequency)

    def _set_nplc(self, a: list[str], s: tuple[str, ...]) -> None:
        """The ``:SENS:CURR:NPLC`` handler."""
        self.nplc = parse_number(a[0] if a else None, low=0.01, high=10.0, default=1.0)


class Sim2450(KeithleySmu):
    idn = "KEITHLEY INSTRUMENTS INC.,MODEL 2450,04400001,1.7.3b"
    channel = 1
    line_frequency = 50.0
    current_ranges = (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
    resolution = 1e-6

    def __init__(self, bench: SimBench, name: str) -> None:
        self.delay = 0.0
        self.func = "VOLT"
        super().__init__(bench, name)

    def reset(self) -> None:
        super().reset()
        self.delay, self.func = 0.0, "VOLT"

    def _aperture(self) -> float:
        """Time one reading takes. After a programmed source delay (a timed hold, e.g. a pulse) the reading is
        its conversions (:meth:`_conversion_time`) at the end of the hold; without one, a read holds its level for
        at least the bench's ``read_duration`` (settling)."""
        aperture = self._conversion_time()
        return aperture if self.delay > 0 else max(aperture, self.bench.timing.read_duration)

    def commands(self) -> list[tuple[str, object]]:  # type: ignore[override]
        src = self.bench.sources[self.key]

        def func(a: list[str], s: tuple[str, ...]) -> None:
            word = (a[0] if a else "").upper().strip('"')
            if word not in ("VOLT", "VOLTAGE"):
                raise ScpiError(-224 if word else -109, "only VOLT sourcing is simulated")

        def level(a: list[str], s: tuple[str, ...]) -> None:
            src.level = parse_number(a[0] if a else None, low=-self.max_volts, high=self.max_volts, default=0.0)

        def ilim(a: list[str], s: tuple[str, ...]) -> None:
            src.limit = parse_number(a[0] if a else None, low=1e-9, high=self.max_amps, default=1.05e-4)

        def delay(a: list[str], s: tuple[str, ...]) -> None:
            self.delay = parse_number(a[0] if a else None, low=0.0, high=1e4, default=0.0)

        def outp(a: list[str], s: tuple[str, ...]) -> None:
            on = parse_bool(a[0] if a else None)
            if on and not src.on:
                src.on = True
                self.bench.advance(self.delay)  # source delay: the level is held before anything else happens
            elif not on:
                src.on, src.tripped = False, False

        def meas(a: list[str], s: tuple[str, ...]) -> str:
            return f"{self.range.reading(self.bench.measure(self.key, self._aperture())):+.6E}"

        def azero(a: list[str], s: tuple[str, ...]) -> None:
            self.autozero = parse_bool(a[0] if a else None)

        def noop(a: list[str], s: tuple[str, ...]) -> None:
            return None

        return [
            ("*LANG?", lambda a, s: "SCPI"),
            (":SYSTem:LFRequency?", lambda a, s: f"{self.line_frequency:g}"),
            ("[:SOURce#]:FUNCtion[:MODE]", func),
            ("[:SOURce#]:FUNCtion[:MODE]?", lambda a, s: "VOLT"),
            ("[:SOURce#]:VOLTage[:LEVel][:IMMediate][:AMPLitude]", level),
            ("[:SOURce#]:VOLTage[:LEVel][:IMMediate][:AMPLitude]?", lambda a, s: f"{src.level:+.6E}"),
            ("[:SOURce#]:VOLTage:ILIMit[:LEVel]", ilim),
            ("[:SOURce#]:VOLTage:ILIMit[:LEVel]?", lambda a, s: f"{src.limit:+.6E}"),
            ("[:SOURce#]:VOLTage:ILIMit[:LEVel]:TRIPped?", lambda a, s: "1" if src.tripped else "0"),
            ("[:SOURce#]:VOLTage:DELay", delay),
            ("[:SOURce#]:VOLTage:DELay?", lambda a, s: f"{self.delay:+.6E}"),
            ("[:SOURce#]:VOLTage:DELay:AUTO", noop),
            ("[:SOURce#]:VOLTage:RANGe", noop),
            ("[:SOURce#]:VOLTage:RANGe:AUTO", noop),
            ("[:SOURce#]:VOLTage:READ:BACK", noop),
            (":SENSe#:FUNCtion[:ON]", noop),
            (":SENSe#:CURRent[:DC]:NPLCycles", self._set_nplc),
            *self.range.commands(":SENSe#:CURRent[:DC]"),
            (":SENSe#:CURRent[:DC]:AZERo[:STATe]", azero),
            (":SENSe#:CURRent[:DC]:AZERo[:STATe]?", lambda a, s: "1" if self.autozero else "0"),
            (":SENSe#:AZERo:ONCE", lambda a, s: self._autozero_once()),
            (":SENSe#:CURRent[:DC]:RSENse", noop),
            (":OUTPut#[:STATe]", outp),
            (":OUTPut#[:STATe]?", lambda a, s: "1" if src.on else "0"),
            (":OUTPut#:VOLTage:SMODe", noop),
            (":MEASure[:CURRent][:DC]?", meas),
            (":READ?", meas),
            (":ABORt", noop),
            (":STATus:PRESet", noop),
            (":STATus:CLEar", lambda a, s: self._cls()),
            (":SYSTem:CLEar", lambda a, s: self._cls()),
        ]
