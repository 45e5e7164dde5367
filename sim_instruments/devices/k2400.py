"""Simulated Keithley 2400 (SCPI over RS-232): compliance is ``:SENS:CURR:PROT``; readings per ``:FORM:ELEM``."""

from __future__ import annotations

from sim_instruments.bench import SimBench
from sim_instruments.devices.k2450 import KeithleySmu
from sim_instruments.scpi import ScpiError, parse_bool, parse_number

_ELEMS = ("VOLT", "CURR", "RES", "TIME", "STAT")


class Sim2400(KeithleySmu):
    idn = "KEITHLEY INSTRUMENTS INC.,MODEL 2400,1234567,C32   Oct  4 2010 14:20:11/A02  /S/K"
    line_frequency = 60.0
    current_ranges = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
    resolution = 1e-5

    def __init__(self, bench: SimBench, name: str) -> None:
        self.elements: tuple[str, ...] = _ELEMS
        super().__init__(bench, name)

    def reset(self) -> None:
        super().reset()
        self.elements = _ELEMS

    def commands(self) -> list[tuple[str, object]]:  # type: ignore[override]
        src = self.bench.sources[self.key]

        def func(a: list[str], s: tuple[str, ...]) -> None:
            if (a[0] if a else "").upper().strip('"') not in ("VOLT", "VOLTAGE"):
                raise ScpiError(-224, "only VOLT sourcing is simulated")

        def level(a: list[str], s: tuple[str, ...]) -> None:
            src.level = parse_number(a[0] if a else None, low=-self.max_volts, high=self.max_volts, default=0.0)

        def prot(a: list[str], s: tuple[str, ...]) -> None:
            src.limit = parse_number(a[0] if a else None, low=1e-9, high=self.max_amps, default=1.05e-4)

        def outp(a: list[str], s: tuple[str, ...]) -> None:
            src.on = parse_bool(a[0] if a else None)
            if not src.on:
                src.tripped = False

        def elems(a: list[str], s: tuple[str, ...]) -> None:
            words = tuple(w.upper()[:4] for w in a)
            if not words or any(w not in _ELEMS for w in words):
                raise ScpiError(-224, ",".join(a))
            self.elements = words

        def read(a: list[str], s: tuple[str, ...]) -> str:
            if not src.on:
                raise ScpiError(-221, "output off")
            hold = max(self._conversion_time(), self.bench.timing.read_duration)
            i = self.range.reading(self.bench.measure(self.key, hold))
            v = src.level
            vals = {"VOLT": v, "CURR": i, "RES": 9.91e37 if i == 0 else v / i, "TIME": self.bench.now(),
                    "STAT": 8.0 + (32.0 if src.tripped else 0.0)}
            return ",".join(f"{vals[e]:+.6E}" for e in self.elements)

        def azero(a: list[str], s: tuple[str, ...]) -> None:
            word = (a[0] if a else "").upper()
            if word == "ONCE":
                self._autozero_once()
            else:
                self.autozero = parse_bool(word)

        def noop(a: list[str], s: tuple[str, ...]) -> None:
            return None

        return [
            ("[:SOURce]:FUNCtion[:MODE]", func),
            ("[:SOURce]:VOLTage[:LEVel][:IMMediate][:AMPLitude]", level),
            ("[:SOURce]:VOLTage[:LEVel][:IMMediate][:AMPLitude]?", lambda a, s: f"{src.level:+.6E}"),
            ("[:SOURce]:VOLTage:MODE", noop),
            ("[:SOURce]:VOLTage:RANGe", noop),
            ("[:SOURce]:VOLTage:RANGe:AUTO", noop),
            (":SENSe:FUNCtion[:ON]", noop),
            (":SENSe:CURRent[:DC]:PROTection[:LEVel]", prot),
            (":SENSe:CURRent[:DC]:PROTection[:LEVel]?", lambda a, s: f"{src.limit:+.6E}"),
            (":SENSe:CURRent[:DC]:PROTection:TRIPped?", lambda a, s: "1" if src.tripped else "0"),
            (":SENSe:CURRent[:DC]:NPLCycles", self._set_nplc),
            *self.range.commands(":SENSe:CURRent[:DC]"),
            (":SYSTem:AZERo[:STATe]", azero),
            (":SYSTem:AZERo[:STATe]?", lambda a, s: "1" if self.autozero else "0"),
            (":OUTPut[:STATe]", outp),
            (":OUTPut[:STATe]?", lambda a, s: "1" if src.on else "0"),
            (":FORMat:ELEMents[:SENSe]", elems),
            (":MEASure[:CURRent][:DC]?", read),
            (":READ?", read),
        ]
