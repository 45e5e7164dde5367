"""Simulated Keysight B2902 (two-channel SMU): DC and pulse sourcing, compliance, trigger bus."""

from __future__ import annotations

from sim_instruments.bench import SimBench
from sim_instruments.scpi import ScpiDevice, ScpiError, parse_bool, parse_number
from sim_instruments.scpi._grammar import int_list


class _Chan:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.shape = "DC"
        self.trig_level = 0.0
        self.width = 1e-3
        self.delay = 0.0
        self.trig_source = "AINT"
        self.nplc = 0.01
        self.fetched = 0.0


class SimB2902(ScpiDevice):
    idn = "Keysight Technologies,B2902A,MY00000001,3.4.2011.5100"
    max_volts = 210.0
    max_amps = 3.03

    def __init__(self, bench: SimBench, name: str) -> None:
        self.bench, self.name = bench, name
        self.ch = {1: _Chan(), 2: _Chan()}
        super().__init__()
        self.on_message = lambda: bench.advance(bench.timing.command)

    def _c(self, suffixes: tuple[str, ...], index: int = 0) -> int:
        s = suffixes[index] if len(suffixes) > index else ""
        n = int(s) if s else 1
        if n not in (1, 2):
            raise ScpiError(-113, f"channel {n}")
        return n

    def reset(self) -> None:
        for n, c in self.ch.items():
            c.reset()
            src = self.bench.sources[(self.name, n)]
            src.on, src.level, src.limit, src.tripped = False, 0.0, 1e-4, False

    def commands(self) -> list[tuple[str, object]]:  # type: ignore[override]
        src = self.bench.sources
        name = self.name

        def level(a: list[str], s: tuple[str, ...]) -> None:
            src[(name, self._c(s))].level = parse_number(a[0] if a else None, low=-self.max_volts, high=self.max_volts,
                                                          default=0.0)

        def trig(a: list[str], s: tuple[str, ...]) -> None:
            self.ch[self._c(s)].trig_level = parse_number(a[0] if a else None, low=-self.max_volts,
                                                          high=self.max_volts, default=0.0)

        def shape(a: list[str], s: tuple[str, ...]) -> None:
            word = (a[0] if a else "").upper()
            if word in ("PULS", "PULSE"):
                self.ch[self._c(s)].shape = "PULS"
            elif word == "DC":
                self.ch[self._c(s)].shape = "DC"
            else:
                raise ScpiError(-224 if word else -109, word)

        def mode(a: list[str], s: tuple[str, ...]) -> None:
            if (a[0] if a else "").upper() not in ("VOLT", "VOLTAGE"):
                raise ScpiError(-224, "only VOLT mode is simulated")

        def width(a: list[str], s: tuple[str, ...]) -> None:
            self.ch[self._c(s)].width = parse_number(a[0] if a else None, low=5e-5, high=2.0, default=1e-3)

        def delay(a: list[str], s: tuple[str, ...]) -> None:
            self.ch[self._c(s)].delay = parse_number(a[0] if a else None, low=0.0, high=99999.9, default=0.0)

        def prot(a: list[str], s: tuple[str, ...]) -> None:
            src[(name, self._c(s))].limit = parse_number(a[0] if a else None, low=1e-8, high=self.max_amps,
                                                          default=1e-4)

        def outp(a: list[str], s: tuple[str, ...]) -> None:
            ch = src[(name, self._c(s))]
            ch.on = parse_bool(a[0] if a else None)
            if not ch.on:
                ch.tripped = False

        def chans(a: list[str]) -> list[int]:
            return int_list(a[0], 1, 2) if a else [1]

        def measure(a: list[str], s: tuple[str, ...]) -> str:
            out = []
            for n in chans(a):
                aperture = self.ch[n].nplc / 50.0
                out.append(f"{self.bench.measure((name, n), max(aperture, self.bench.timing.read_duration)):+.6E}")
            return ",".join(out)

        def trig_source(a: list[str], s: tuple[str, ...]) -> None:
            word = (a[0] if a else "").upper()
            if not (word in ("AINT", "BUS", "TIM", "INT1", "INT2", "LAN") or word.startswith("EXT")):
                raise ScpiError(-224, word)
            self.ch[self._c(s)].trig_source = word

        def init(a: list[str], s: tuple[str, ...]) -> None:
            peaks: dict[tuple[str, int], float] = {}
            widths = []
            for n in chans(a) if a else [1, 2]:
                c = self.ch[n]
                key = (name, n)
                if not src[key].on:
                    continue
                if c.shape == "DC":
                    src[key].level = c.trig_level
                    continue
                if c.trig_source.startswith("EXT"):
                    self.bench.armed[key] = (c.trig_level, c.width)
                    continue
                peaks[key] = c.trig_level
                widths.append(c.width + c.delay)
            if peaks:
                result = self.bench.pulse(peaks, max(widths))
                for (_, n), cur in result.items():
                    if _ == name:
                        self.ch[n].fetched = cur

        def fetch(a: list[str], s: tuple[str, ...]) -> str:
            return ",".join(f"{src[(name, n)].last_current:+.6E}" for n in chans(a))

        def tripped(a: list[str], s: tuple[str, ...]) -> str:
            return "1" if src[(name, self._c(s))].tripped else "0"

        def nplc(a: list[str], s: tuple[str, ...]) -> None:
            self.ch[self._c(s)].nplc = parse_number(a[0] if a else None, low=4e-4, high=100.0, default=1.0)

        def oper_cond(a: list[str], s: tuple[str, ...]) -> str:
            bits = 0
            for n, shift in ((1, 1), (2, 7)):
                if (name, n) in self.bench.armed:
                    bits |= 1 << shift
            return str(bits)

        def noop(a: list[str], s: tuple[str, ...]) -> None:
            return None

        return [
            ("[:SOURce#]:FUNCtion:MODE", mode),
            ("[:SOURce#]:FUNCtion[:SHAPe]", shape),
            ("[:SOURce#]:FUNCtion[:SHAPe]?", lambda a, s: self.ch[self._c(s)].shape),
            ("[:SOURce#]:VOLTage[:LEVel][:IMMediate][:AMPLitude]", level),
            ("[:SOURce#]:VOLTage[:LEVel][:IMMediate][:AMPLitude]?",
             lambda a, s: f"{src[(name, self._c(s))].level:+.6E}"),
            ("[:SOURce#]:VOLTage[:LEVel]:TRIGgered[:AMPLitude]", trig),
            ("[:SOURce#]:VOLTage[:LEVel]:TRIGgered[:AMPLitude]?",
             lambda a, s: f"{self.ch[self._c(s)].trig_level:+.6E}"),
            ("[:SOURce#]:VOLTage:MODE", noop),
            ("[:SOURce#]:VOLTage:RANGe[:AUTO]", noop),
            ("[:SOURce#]:PULSe:WIDTh", width),
            ("[:SOURce#]:PULSe:WIDTh?", lambda a, s: f"{self.ch[self._c(s)].width:+.6E}"),
            ("[:SOURce#]:PULSe:DELay", delay),
            (":SENSe#:CURRent[:DC]:PROTection[:LEVel]", prot),
            (":SENSe#:CURRent[:DC]:PROTection[:LEVel]?", lambda a, s: f"{src[(name, self._c(s))].limit:+.6E}"),
            (":SENSe#:CURRent[:DC]:PROTection:TRIPped?", tripped),
            (":SENSe#:CURRent[:DC]:NPLCycles", nplc),
            (":SENSe#:CURRent[:DC]:RANGe[:UPPer]", noop),
            (":SENSe#:CURRent[:DC]:RANGe:AUTO", noop),
            (":SENSe#:FUNCtion[:ON]", noop),
            (":OUTPut#[:STATe]", outp),
            (":OUTPut#[:STATe]?", lambda a, s: "1" if src[(name, self._c(s))].on else "0"),
            (":OUTPut#:OFF:MODE", noop),
            (":MEASure[:SCALar]:CURRent[:DC]?", measure),
            (":FETCh[:SCALar]:CURRent[:DC]?", fetch),
            (":TRIGger#[:ALL]:SOURce", trig_source),
            (":TRIGger#:TRANsient:DELay", noop),
            (":TRIGger#:ACQuire:DELay", noop),
            (":INITiate[:IMMediate][:ALL]", init),
            (":ABORt[:ALL]", lambda a, s: self.bench.armed.clear()),
            (":STATus:OPERation:CONDition?", oper_cond),
        ]
