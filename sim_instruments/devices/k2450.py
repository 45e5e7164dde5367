"""Simulated Keithley 2450 (SCPI command set): compliance is the source limit ``:SOUR:VOLT:ILIM``; one measure
function at a time (``:SENS:FUNC``); readings go to reading buffers (``defbuffer1``, ``defbuffer2`` and
``:TRAC:MAKE``); ``:MEAS?``/``:READ?``/``:FETC?`` take a buffer name and buffer elements.
Command table: ``docs/instruments/keithley_2450.md``."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sim_instruments.bench import SimBench
from sim_instruments.devices._keithley import NAN, OVERFLOW, KeithleySmu
from sim_instruments.scpi import ScpiError, parse_bool, parse_number
from sim_instruments.scpi._settings import Entry, boolean, choice, fmt_num, integer, keyword_value, number

__all__ = ["OVERFLOW", "Sim2450"]

_FUNCS = ["CURRent", "VOLTage", "RESistance"]
_FUNC_REPLY = {"CURR": '"CURR:DC"', "VOLT": '"VOLT:DC"', "RES": '"RES"'}
_UNIT = {"CURR": "Amp DC", "VOLT": "Volt DC", "RES": "Ohm"}
_ELEMENTS = ["READing", "SOURce", "RELative", "SEConds", "FRACtional", "UNIT", "SOURUNIT", "STATus",
             "SOURSTATus", "DATE", "TIME", "TSTamp"]
_PROT = ["PROT2", "PROT5", "PROT10", "PROT20", "PROT40", "PROT60", "PROT80", "PROT100", "PROT120", "PROT140",
         "PROT160", "PROT180", "NONE"]


@dataclass
class _Reading:
    value: float
    source: float
    time: float
    func: str
    sfunc: str


@dataclass
class _Buffer:
    size: int
    data: list[_Reading] = field(default_factory=list)

    def add(self, r: _Reading) -> None:
        self.data.append(r)
        if len(self.data) > self.size:
            del self.data[0]


def _func(arg: str | None) -> str:
    text = (arg or "").strip().strip("\"'").upper()
    return keyword_value(text.removesuffix(":DC") if text else arg, _FUNCS)


def _unquote(arg: str) -> str | None:
    """A buffer name (quoted string), or None when ``arg`` is an element keyword."""
    arg = arg.strip()
    return arg[1:-1] if len(arg) >= 2 and arg[0] == arg[-1] and arg[0] in "'\"" else None


class Sim2450(KeithleySmu):
    idn = "KEITHLEY INSTRUMENTS INC.,MODEL 2450,04400001,1.7.3b"
    channel = 1
    line_frequency = 50.0
    current_ranges = (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
    voltage_ranges = (0.02, 0.2, 2.0, 20.0, 200.0)
    resolution = 1e-6

    def __init__(self, bench: SimBench, name: str) -> None:
        self.buffers: dict[str, _Buffer] = {}
        super().__init__(bench, name)

    def reset(self) -> None:
        super().reset()
        self.p.update({"func": "CURR", "vdelay": 0.0, "vdelay_auto": True, "cdelay": 0.0, "cdelay_auto": True,
                       "readback": True, "vprot": "NONE", "terminals": "FRON", "count": 1, "csmode": "NORM",
                       "light": "ON50", "lang": "SCPI"})
        for f in ("CURR", "VOLT", "RES"):
            self.p[f"nplc_{f}"], self.p[f"azero_{f}"] = 1.0, True
        self.buffers = {"defbuffer1": _Buffer(100000), "defbuffer2": _Buffer(100000)}
        self.t0 = self.bench.now()

    @property
    def nplc(self) -> float:
        return float(self.p[f"nplc_{self.p['func']}"])

    @property
    def autozero(self) -> bool:
        return bool(self.p[f"azero_{self.p['func']}"])

    @property
    def delay(self) -> float:
        return float(self.p["vdelay"])

    def _aperture(self) -> float:
        """Time one reading takes. After a programmed source delay (a timed hold, e.g. a pulse) the reading is
        its conversions (:meth:`_conversion_time`) at the end of the hold; without one, a read holds its level for
        at least the bench's ``read_duration`` (settling)."""
        aperture = self._conversion_time()
        return aperture if self.delay > 0 else max(aperture, self.bench.timing.read_duration)

    # --- readings -----------------------------------------------------------------------------------------------
    def _buffer(self, name: str | None) -> _Buffer:
        buf = self.buffers.get(name or "defbuffer1")
        if buf is None:
            raise ScpiError(-224, f"no reading buffer {name!r}")
        return buf

    def _split(self, a: list[str]) -> tuple[str | None, list[str]]:
        """(buffer name, element keywords) of ``:READ? ['buf'][, elements]``."""
        if a and _unquote(a[0]) is not None:
            return _unquote(a[0]), [keyword_value(e, _ELEMENTS) for e in a[1:]]
        return None, [keyword_value(e, _ELEMENTS) for e in a]

    def _element(self, r: _Reading, e: str) -> str:
        rel = r.time - self.t0
        values = {"READ": fmt_num(r.value), "SOUR": fmt_num(r.source), "REL": fmt_num(rel),
                  "SEC": f"{math.floor(r.time)}", "FRAC": fmt_num(r.time % 1.0), "UNIT": _UNIT[r.func],
                  "SOURUNIT": "Volt DC", "STAT": "0", "SOURSTAT": "0", "DATE": "01/01/2024",
                  "TIME": f"{r.time:.9f}", "TST": f"01/01/2024 00:00:{r.time:012.9f}"}
        return values[e]

    def _format(self, r: _Reading, elements: list[str]) -> str:
        return ",".join(self._element(r, e) for e in (elements or ["READ"]))

    def _take(self, buf: _Buffer) -> _Reading:
        """``:SENS:COUN`` readings into ``buf``; returns the last."""
        if self.p["sfunc"] == "CURR" and self.src.on:
            raise ScpiError(-221, "current sourcing is not simulated")
        last = None
        for _ in range(int(self.p["count"])):
            v, i = self._measure(self._aperture())
            func = self.p["func"]
            value = i if func == "CURR" else v if func == "VOLT" else (OVERFLOW if i in (0.0, OVERFLOW) else v / i)
            last = _Reading(value, self.src.level, self.bench.now(), func, self.p["sfunc"])
            buf.add(last)
        assert last is not None
        return last

    def _read(self, a: list[str], s: tuple[str, ...]) -> str:
        name, elements = self._split(a)
        return self._format(self._take(self._buffer(name)), elements)

    def _meas(self, a: list[str], s: tuple[str, ...]) -> str:
        if s and s[0]:
            self.p["func"] = s[0]
        return self._read(a, s)

    def _fetch(self, a: list[str], s: tuple[str, ...]) -> str:
        name, elements = self._split(a)
        buf = self._buffer(name)
        if not buf.data:
            raise ScpiError(-230, "the reading buffer is empty")
        return self._format(buf.data[-1], elements)

    def _trace_data(self, a: list[str], s: tuple[str, ...]) -> str:
        if len(a) < 2:
            raise ScpiError(-109)
        start = round(parse_number(a[0], low=1, high=1e7))
        end = round(parse_number(a[1], low=1, high=1e7))
        name, elements = self._split(a[2:])
        buf = self._buffer(name)
        if end < start or end > len(buf.data):
            raise ScpiError(-222, f"index {start}..{end} of {len(buf.data)} readings")
        return ",".join(self._format(r, elements) for r in buf.data[start - 1:end])

    def _trace_make(self, a: list[str], s: tuple[str, ...]) -> None:
        if len(a) < 2 or _unquote(a[0]) is None:
            raise ScpiError(-109)
        name = _unquote(a[0]) or ""
        if name in self.buffers:
            raise ScpiError(-221, f"buffer {name!r} exists")
        self.buffers[name] = _Buffer(round(parse_number(a[1], low=1, high=5.5e6)))

    def _named(self, a: list[str]) -> str | None:
        return _unquote(a[-1]) if a else None

    def _trace_points(self, a: list[str], s: tuple[str, ...]) -> None:
        if not a:
            raise ScpiError(-109)
        buf = self._buffer(self._named(a[1:]))
        buf.size = round(parse_number(a[0], low=1, high=5.5e6))
        del buf.data[:-buf.size]

    def _stat(self, kind: str) -> object:
        def stat(a: list[str], s: tuple[str, ...]) -> str:
            data = [r.value for r in self._buffer(self._named(a)).data]
            if not data:
                return fmt_num(NAN)
            mean = sum(data) / len(data)
            value = {"AVER": mean, "MAX": max(data), "MIN": min(data), "PK2P": max(data) - min(data),
                     "STDD": math.sqrt(sum((x - mean) ** 2 for x in data) / (len(data) - 1)) if len(data) > 1
                     else 0.0}[kind]
            return fmt_num(value)
        return stat

    def _output(self, a: list[str], s: tuple[str, ...]) -> None:
        on = parse_bool(a[0] if a else None)
        if on and not self.src.on:
            self._set_output(True)
            self.bench.advance(self.delay)  # source delay: the level is held before anything else happens
        elif not on:
            self._set_output(False)

    def _sense_func(self, a: list[str], s: tuple[str, ...]) -> None:
        if len(a) != 1:
            raise ScpiError(-109 if not a else -108)
        self.p["func"] = _func(a[0])

    # --- the command table ------------------------------------------------------------------------------------
    def commands(self) -> list[tuple[str, object]]:  # type: ignore[override]
        p, f = self.p, self.fields
        sense: list[Entry] = []
        for fn in _FUNCS:
            short = fn[:4].upper() if fn != "RESistance" else "RES"
            sense += [
                *number(f":SENSe#:{fn}[:DC]:NPLCycles", p, f"nplc_{short}", low=0.01, high=10.0, default=1.0),
                *boolean(f":SENSe#:{fn}[:DC]:AZERo[:STATe]", p, f"azero_{short}"),
                *boolean(f":SENSe#:{fn}[:DC]:RSENse", p, "rsense"),
                *boolean(f":SENSe#:{fn}[:DC]:AVERage[:STATe]", p, "aver"),
                *integer(f":SENSe#:{fn}[:DC]:AVERage:COUNt", p, "aver_count", low=1, high=100, default=10),
                *choice(f":SENSe#:{fn}[:DC]:AVERage:TCONtrol", p, "aver_tcon", ["REPeat", "MOVing"]),
            ]
        return [
            ("*LANG?", lambda a, s: "SCPI"),
            *choice("*LANG", p, "lang", ["SCPI", "TSP", "SCPI2400"]),
            (":SYSTem:LFRequency?", lambda a, s: f"{self.line_frequency:g}"),
            (":SYSTem:CLEar", lambda a, s: self._cls()),
            (":SYSTem:BEEPer[:IMMediate]", lambda a, s: None),
            (":SYSTem:TIME?", lambda a, s: f"{self.bench.now():.6f}"),
            *choice(":DISPlay:LIGHt:STATe", p, "light", ["ON100", "ON75", "ON50", "ON25", "OFF", "BLACkout"]),
            *self.source_commands("[:SOURce#]"),
            *number("[:SOURce#]:VOLTage:ILIMit[:LEVel]", f, "limit", low=1e-9, high=self.max_amps,
                    default=self.default_ilimit),
            ("[:SOURce#]:VOLTage:ILIMit[:LEVel]:TRIPped?", lambda a, s: "1" if self.src.tripped else "0"),
            *number("[:SOURce#]:CURRent:VLIMit[:LEVel]", p, "vlim", low=0.02, high=self.max_volts,
                    default=self.default_vlimit),
            ("[:SOURce#]:CURRent:VLIMit[:LEVel]:TRIPped?", lambda a, s: "0"),
            *number("[:SOURce#]:VOLTage:DELay", p, "vdelay", low=0.0, high=1e4, default=0.0,
                    on_set=lambda s: p.__setitem__("vdelay_auto", False)),
            *boolean("[:SOURce#]:VOLTage:DELay:AUTO", p, "vdelay_auto"),
            *number("[:SOURce#]:CURRent:DELay", p, "cdelay", low=0.0, high=1e4, default=0.0,
                    on_set=lambda s: p.__setitem__("cdelay_auto", False)),
            *boolean("[:SOURce#]:CURRent:DELay:AUTO", p, "cdelay_auto"),
            *boolean("[:SOURce#]:VOLTage:READ:BACK", p, "readback"),
            *boolean("[:SOURce#]:CURRent:READ:BACK", p, "readback"),
            *choice("[:SOURce#]:VOLTage:PROTection[:LEVel]", p, "vprot", _PROT),
            ("[:SOURce#]:VOLTage:PROTection:TRIPped?", lambda a, s: "0"),
            (":SENSe#:FUNCtion[:ON]", self._sense_func),
            (":SENSe#:FUNCtion[:ON]?", lambda a, s: _FUNC_REPLY[p["func"]]),
            *self.range.commands(":SENSe#:CURRent[:DC]"),
            *self.voltage_sense_commands(":SENSe#"),
            *sense,
            (":SENSe#:AZERo:ONCE", lambda a, s: self._autozero_once()),
            *integer(":SENSe#:COUNt", p, "count", low=1, high=300000, default=1),
            *choice(":ROUTe:TERMinals", p, "terminals", ["FRONt", "REAR"]),
            (":OUTPut#[:STATe]", self._output),
            (":OUTPut#[:STATe]?", lambda a, s: "1" if self.src.on else "0"),
            *choice(":OUTPut#:VOLTage:SMODe", p, "smode", ["NORMal", "HIMPedance", "ZERO", "GUARd"]),
            *choice(":OUTPut#:CURRent:SMODe", p, "csmode", ["NORMal", "HIMPedance", "ZERO", "GUARd"]),
            (":MEASure:CURRent[:DC]?", lambda a, s: self._meas(a, ("CURR",))),
            (":MEASure:VOLTage[:DC]?", lambda a, s: self._meas(a, ("VOLT",))),
            (":MEASure:RESistance?", lambda a, s: self._meas(a, ("RES",))),
            (":MEASure?", lambda a, s: self._read(a, s)),
            (":READ?", self._read),
            (":FETCh?", self._fetch),
            (":TRACe:MAKE", self._trace_make),
            (":TRACe:DELete", lambda a, s: self.buffers.pop(_unquote(a[0]) or "" if a else "", None) and None),
            (":TRACe:CLEar", lambda a, s: self._buffer(self._named(a)).data.clear()),
            (":TRACe:POINts", self._trace_points),
            (":TRACe:POINts?", lambda a, s: str(self._buffer(self._named(a)).size)),
            (":TRACe:ACTual?", lambda a, s: str(len(self._buffer(self._named(a)).data))),
            (":TRACe:ACTual:STARt?", lambda a, s: "1" if self._buffer(self._named(a)).data else "0"),
            (":TRACe:ACTual:END?", lambda a, s: str(len(self._buffer(self._named(a)).data))),
            (":TRACe:DATA?", self._trace_data),
            (":TRACe:TRIGger", lambda a, s: self._take(self._buffer(self._named(a))) and None),
            *[(f":TRACe:STATistics:{k}?", self._stat(key)) for k, key in
              (("AVERage", "AVER"), ("MAXimum", "MAX"), ("MINimum", "MIN"), ("STDDev", "STDD"), ("PK2Pk", "PK2P"))],
            (":INITiate[:IMMediate]", lambda a, s: self._take(self._buffer(None)) and None),
            (":ABORt", lambda a, s: None),
            *self.status_commands(),
            (":STATus:CLEar", lambda a, s: self._cls()),
        ]
