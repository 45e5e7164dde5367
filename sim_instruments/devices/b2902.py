"""Simulated Keysight B2902 (two-channel SMU): DC and pulse sourcing, compliance, trigger bus.
Command table: ``docs/instruments/keysight_b2902.md``. Sourcing current is accepted and reads back, but an output
cannot be turned on while it sources current (-221: the crossbar physics has voltage sources only)."""

from __future__ import annotations

from typing import Any

from sim_instruments.bench import SimBench
from sim_instruments.devices.b2902_settings import channel_settings
from sim_instruments.scpi import ScpiDevice, ScpiError, parse_number
from sim_instruments.scpi._grammar import int_list
from sim_instruments.scpi._settings import fmt_num


class _Chan:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.shape = "DC"
        self.trig_level = 0.0
        self.width = 1e-3
        self.delay = 0.0
        self.trig_source = "AINT"
        self.fetched = 0.0
        self.p: dict[str, Any] = {
            "mode": "VOLT", "curr": 0.0, "curr_trig": 0.0, "vrange": 200.0, "vrange_auto": True,
            "irange": 3.03, "irange_auto": True, "vlim": 2.0, "aperture": 0.1 / 50.0, "aper_auto": False,
            "mirange": 3.03, "mirange_auto": True, "mvrange": 200.0, "mvrange_auto": True, "remote": False,
            "funcs": ["VOLT", "CURR"], "off_mode": "NORM", "off_auto": True, "on_auto": False, "prot": False,
            "low": "GRO", "filter": True, "hcap": False, "acq_source": "AINT", "trig_count": 1,
            "acq_count": 1, "trig_delay": 0.0, "acq_delay": 0.0, "trig_timer": 1e-3, "arm_count": 1,
            "arm_source": "AINT", "arm_delay": 0.0, "cont": False, "rmode": "MAN", "ocomp": False,
            "vmode": "FIX", "cmode": "FIX",
        }


class SimB2902(ScpiDevice):
    idn = "Keysight Technologies,B2902A,MY00000001,3.4.2011.5100"
    max_volts = 210.0
    max_amps = 3.03
    line_frequency = 50.0

    def __init__(self, bench: SimBench, name: str) -> None:
        self.bench, self.name = bench, name
        self.ch = {1: _Chan(), 2: _Chan()}
        self.elements = ["VOLT", "CURR", "RES", "TIME", "STAT", "SOUR"]
        self.data_format = "ASC"
        self.t0 = bench.now()
        self.line_frequency = 50.0
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
        self.elements = ["VOLT", "CURR", "RES", "TIME", "STAT", "SOUR"]
        self.data_format = "ASC"
        self.t0 = self.bench.now()
        self.line_frequency = 50.0

    # --- readings -----------------------------------------------------------------------------------------------
    def _chans(self, a: list[str]) -> list[int]:
        return int_list(a[0], 1, 2) if a else [1]

    def _reading(self, n: int) -> dict[str, float]:
        """One reading of channel ``n``: every element (unmeasured functions read 9.91e37 as on the instrument)."""
        c, key = self.ch[n], (self.name, n)
        if self.data_format != "ASC":
            raise ScpiError(-221, "only :FORM:DATA ASCii is simulated")
        amps = self.bench.measure(key, max(float(c.p["aperture"]), self.bench.timing.read_duration))
        volts = self.bench.sources[key].last_voltage
        funcs = c.p["funcs"]
        return {"VOLT": volts if "VOLT" in funcs else 9.91e37, "CURR": amps if "CURR" in funcs else 9.91e37,
                "RES": (volts / amps if amps else 9.9e37) if "RES" in funcs else 9.91e37,
                "TIME": self.bench.now() - self.t0, "STAT": 0.0,
                "SOUR": self.bench.sources[key].level if c.p["mode"] == "VOLT" else float(c.p["curr"])}

    def _measure(self, func: str | None) -> Any:
        def handler(a: list[str], s: tuple[str, ...]) -> str:
            out = []
            for n in self._chans(a):
                r = self._reading(n)
                if func is None:
                    out += [r[e] for e in self.elements]
                else:
                    out.append(r[func] if func != "RES" or "RES" in self.ch[n].p["funcs"] else
                               (r["VOLT"] / r["CURR"] if r["CURR"] else 9.9e37))
            return ",".join(fmt_num(v) for v in out)
        return handler

    def _fetch(self, func: str) -> Any:
        def handler(a: list[str], s: tuple[str, ...]) -> str:
            out = []
            for n in self._chans(a):
                src = self.bench.sources[(self.name, n)]
                out.append(src.last_current if func == "CURR" else src.last_voltage)
            return ",".join(fmt_num(v) for v in out)
        return handler

    def _elements(self, a: list[str], s: tuple[str, ...]) -> None:
        from sim_instruments.scpi._settings import keyword_value

        if not a:
            raise ScpiError(-109)
        words = [keyword_value(w, ["VOLTage", "CURRent", "RESistance", "TIME", "STATus", "SOURce"]) for w in a]
        self.elements = [e for e in ("VOLT", "CURR", "RES", "TIME", "STAT", "SOUR") if e in words]

    def _format(self, a: list[str], s: tuple[str, ...]) -> None:
        from sim_instruments.scpi._settings import keyword_value

        word = keyword_value(a[0] if a else None, ["ASCii", "REAL"])
        if word != "ASC":
            raise ScpiError(-221, "only ASCii data is simulated")
        self.data_format = word

    def _lfr(self, a: list[str], s: tuple[str, ...]) -> None:
        value = parse_number(a[0] if a else None, low=50, high=60)
        if value not in (50, 60):
            raise ScpiError(-224, a[0])
        self.line_frequency = value

    def commands(self) -> list[tuple[str, object]]:  # type: ignore[override]
        src = self.bench.sources
        name = self.name

        def init(a: list[str], s: tuple[str, ...]) -> None:
            peaks: dict[tuple[str, int], float] = {}
            widths = []
            for n in self._chans(a) if a else [1, 2]:
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

        def oper_cond(a: list[str], s: tuple[str, ...]) -> str:
            bits = 0
            for n, shift in ((1, 1), (2, 7)):
                if (name, n) in self.bench.armed:
                    bits |= 1 << shift
            return str(bits)

        return [
            *channel_settings(self),
            (":MEASure[:SCALar]:CURRent[:DC]?", self._measure("CURR")),
            (":MEASure[:SCALar]:VOLTage[:DC]?", self._measure("VOLT")),
            (":MEASure[:SCALar]:RESistance?", self._measure("RES")),
            (":MEASure[:SCALar]?", self._measure(None)),
            (":READ[:SCALar]?", self._measure(None)),
            (":FETCh[:SCALar]:CURRent[:DC]?", self._fetch("CURR")),
            (":FETCh[:SCALar]:VOLTage[:DC]?", self._fetch("VOLT")),
            (":FORMat[:DATA]", self._format),
            (":FORMat[:DATA]?", lambda a, s: "ASC"),
            (":FORMat:ELEMents:SENSe", self._elements),
            (":FORMat:ELEMents:SENSe?", lambda a, s: ",".join(self.elements)),
            (":SYSTem:LFRequency", self._lfr),
            (":SYSTem:LFRequency?", lambda a, s: f"{self.line_frequency:g}"),
            (":SYSTem:PRESet", lambda a, s: self.reset()),
            (":SYSTem:BEEPer[:IMMediate]", lambda a, s: None),
            (":SYSTem:TIME?", lambda a, s: f"{self.bench.now() - self.t0:+.6E}"),
            (":INITiate[:IMMediate][:ALL]", init),
            (":INITiate[:IMMediate]:TRANsient", init),
            (":INITiate[:IMMediate]:ACQuire", lambda a, s: None),
            (":ABORt[:ALL]", lambda a, s: self.bench.armed.clear()),
            (":ABORt:TRANsient", lambda a, s: self.bench.armed.clear()),
            (":ABORt:ACQuire", lambda a, s: None),
            (":STATus:OPERation:CONDition?", oper_cond),
            (":STATus:OPERation[:EVENt]?", lambda a, s: "0"),
            (":STATus:QUEStionable[:EVENt]?", lambda a, s: "0"),
            (":STATus:QUEStionable:CONDition?", lambda a, s: "0"),
            (":STATus:PRESet", lambda a, s: None),
        ]
