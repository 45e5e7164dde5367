"""Simulated Keithley 2400 (SCPI over RS-232): compliance is ``:SENS:CURR:PROT``; concurrent measure functions
(``:SENS:FUNC:CONC``); ``:READ?``/``:MEAS?``/``:FETC?`` answer the ``:FORM:ELEM`` elements (VOLT, CURR, RES, TIME,
STAT, always in that order) for ``:ARM:COUN`` x ``:TRIG:COUN`` readings.
Command table: ``docs/instruments/keithley_2400.md``."""

from __future__ import annotations

from sim_instruments.bench import SimBench
from sim_instruments.devices._keithley import NAN, OVERFLOW, KeithleySmu
from sim_instruments.scpi import ScpiError, parse_bool
from sim_instruments.scpi._settings import Entry, boolean, choice, integer, keyword_value, number

_ELEMS = ("VOLT", "CURR", "RES", "TIME", "STAT")
_ELEM_WORDS = ["VOLTage", "CURRent", "RESistance", "TIME", "STATus"]
_FUNC_WORDS = ["VOLTage", "CURRent", "RESistance"]
_FUNC_NAME = {"VOLT": '"VOLT:DC"', "CURR": '"CURR:DC"', "RES": '"RES"'}


def _functions(a: list[str]) -> list[str]:
    """``"VOLT","CURR:DC"`` (one or more quoted names) -> ['VOLT', 'CURR']."""
    if not a:
        raise ScpiError(-109)
    out = []
    for arg in a:
        text = arg.strip().strip("\"'").upper().removesuffix(":DC")
        out.append(keyword_value(text, _FUNC_WORDS))
    return out


class Sim2400(KeithleySmu):
    idn = "KEITHLEY INSTRUMENTS INC.,MODEL 2400,1234567,C32   Oct  4 2010 14:20:11/A02  /S/K"
    line_frequency = 60.0
    current_ranges = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
    voltage_ranges = (0.2, 2.0, 20.0, 200.0)
    resolution = 1e-5

    def __init__(self, bench: SimBench, name: str) -> None:
        self.funcs: list[str] = ["CURR"]
        self.last: list[list[float]] = []
        super().__init__(bench, name)

    def reset(self) -> None:
        super().reset()
        self.funcs = ["CURR"]
        self.last = []
        self.t0 = self.bench.now()
        self.p.update({"conc": True, "elements": list(_ELEMS), "format": "ASC", "sreg": "ASC", "bord": "NORM",
                       "delay": 0.0, "delay_auto": True, "clear_auto": False, "arm_count": 1, "trig_count": 1,
                       "arm_source": "IMM", "trig_source": "IMM", "trig_delay": 0.0, "arm_timer": 0.1,
                       "vprot": 210.0, "rmode": "MAN", "ocomp": False, "lfr_auto": False, "beeper": True,
                       "guard": "OHMS", "interlock": False, "arm_dir": "ACC", "trig_dir": "ACC",
                       "ilin": 1, "olin": 2, "arm_ilin": 1, "arm_olin": 2, "trig_outp": "NONE",
                       "arm_outp": "NONE", "meas_enable": 0, "smode": "NORM"})
        self.line_frequency = type(self).line_frequency

    # --- readings -----------------------------------------------------------------------------------------------
    def _status(self, amps: float) -> float:
        """The status word: bit 0 overflow, 2 front terminals, 3 compliance, 11/12/13 V/I/ohms measured,
        14/15 V/I source, 22 remote sense."""
        word = 1 << 2
        word |= 1 if amps == OVERFLOW else 0
        word |= (1 << 3) if self.src.tripped else 0
        word |= sum(1 << b for f, b in (("VOLT", 11), ("CURR", 12), ("RES", 13)) if f in self.funcs)
        word |= 1 << (14 if self.p["sfunc"] == "VOLT" else 15)
        word |= (1 << 22) if self.p["rsense"] else 0
        return float(word)

    def _one(self) -> list[float]:
        hold = max(self._conversion_time(), self.bench.timing.read_duration)
        self.bench.advance(float(self.p["delay"]) + float(self.p["trig_delay"]))
        v, i = self._measure(hold)
        sourcing_v = self.p["sfunc"] == "VOLT"
        volts = v if "VOLT" in self.funcs else (self.src.level if sourcing_v else NAN)
        amps = i if "CURR" in self.funcs else (NAN if sourcing_v else float(self.p["curr"]))
        res = NAN
        if "RES" in self.funcs:
            res = OVERFLOW if i in (0.0, OVERFLOW) else v / i
        values = {"VOLT": volts, "CURR": amps, "RES": res, "TIME": self.bench.now() - self.t0,
                  "STAT": self._status(i)}
        return [values[e] for e in _ELEMS if e in self.p["elements"]]

    def _readings(self) -> list[list[float]]:
        """``:ARM:COUN`` x ``:TRIG:COUN`` readings (``:INIT``); output on first when auto-clear is on."""
        if self.p["format"] != "ASC":
            raise ScpiError(-221, "only :FORM:DATA ASCii is simulated")
        auto = bool(self.p["clear_auto"])
        if not self.src.on and not auto:
            raise ScpiError(803)
        if auto:
            self._set_output(True)
        try:
            self.last = [self._one() for _ in range(int(self.p["arm_count"]) * int(self.p["trig_count"]))]
        finally:
            if auto:
                self._set_output(False)
        return self.last

    def _reply(self, rows: list[list[float]]) -> str:
        return ",".join(self.reply(r) for r in rows)

    def _read(self, a: list[str], s: tuple[str, ...]) -> str:
        return self._reply(self._readings())

    def _fetch(self, a: list[str], s: tuple[str, ...]) -> str:
        if not self.last:
            raise ScpiError(-230, "no readings")
        return self._reply(self.last)

    def _configure(self, func: str) -> None:
        """``:CONF:<func>``: that function selected (alone unless concurrent measurements are on), the trigger
        sources immediate, the output on (User's Manual, signal oriented measurement commands)."""
        if func not in self.funcs:
            self.funcs = [f for f in ("VOLT", "CURR", "RES") if f in self.funcs or f == func] \
                if self.p["conc"] else [func]
        self.p["arm_source"] = self.p["trig_source"] = "IMM"
        self._set_output(True)

    def _meas(self, func: str | None) -> object:
        def handler(a: list[str], s: tuple[str, ...]) -> str:
            if func is not None:
                self._configure(func)
            return self._read(a, s)
        return handler

    # --- settings with side effects -------------------------------------------------------------------------
    def _func_on(self, a: list[str], s: tuple[str, ...]) -> None:
        new = _functions(a)
        if not self.p["conc"]:
            if len(new) > 1:
                raise ScpiError(-108, "one function while concurrent measurements are off")
            self.funcs = new
            return
        self.funcs = [f for f in ("VOLT", "CURR", "RES") if f in self.funcs or f in new]

    def _func_off(self, a: list[str], s: tuple[str, ...]) -> None:
        off = _functions(a)
        self.funcs = [f for f in self.funcs if f not in off]

    def _conc(self, a: list[str], s: tuple[str, ...]) -> None:
        self.p["conc"] = parse_bool(a[0] if a else None)
        if not self.p["conc"] and len(self.funcs) > 1:
            self.funcs = self.funcs[:1]

    def _elements(self, a: list[str], s: tuple[str, ...]) -> None:
        if not a:
            raise ScpiError(-109)
        words = {keyword_value(w, _ELEM_WORDS) for w in a}
        self.p["elements"] = [e for e in _ELEMS if e in words]

    def _format_data(self, a: list[str], s: tuple[str, ...]) -> None:
        word = keyword_value(a[0] if a else None, ["ASCii", "REAL", "SREal"])
        if word != "ASC":
            raise ScpiError(-221, "only ASCii data is simulated")
        self.p["format"] = word

    def _azero(self, a: list[str], s: tuple[str, ...]) -> None:
        word = (a[0] if a else "").upper()
        if word == "ONCE":
            self._autozero_once()
        else:
            self.p["azero"] = parse_bool(word)

    def _trigger_source(self, pattern: str, key: str, words: list[str]) -> list[Entry]:
        def check(value: str, s: tuple[str, ...]) -> None:
            if value != "IMM":
                raise ScpiError(-221, f"trigger source {value} is not simulated (IMMediate only)")
        return choice(pattern, self.p, key, words, check=check)

    def _output(self, a: list[str], s: tuple[str, ...]) -> None:
        self._set_output(parse_bool(a[0] if a else None))

    def _lfr(self, a: list[str], s: tuple[str, ...]) -> None:
        value = round(float(a[0])) if a and a[0].replace(".", "").isdigit() else None
        if value not in (50, 60):
            raise ScpiError(-224, a[0] if a else "")
        self.line_frequency = float(value)

    # --- the command table ------------------------------------------------------------------------------------
    def commands(self) -> list[tuple[str, object]]:  # type: ignore[override]
        p, f = self.p, self.fields
        nplc: list[Entry] = []
        for fn in _FUNC_WORDS:  # the 2400's speed is one setting for every function
            nplc += number(f":SENSe#:{fn}[:DC]:NPLCycles", p, "nplc", low=0.01, high=10.0, default=1.0)
        arm, trig = "ARM[:SEQuence#][:LAYer#]", "TRIGger[:SEQuence#]"
        return [
            *self.source_commands("[:SOURce#]"),
            *choice("[:SOURce#]:VOLTage:MODE", p, "vmode", ["FIXed"]),
            *choice("[:SOURce#]:CURRent:MODE", p, "cmode", ["FIXed"]),
            *number("[:SOURce#]:VOLTage:PROTection[:LEVel]", p, "vprot", low=20.0, high=210.0, default=210.0,
                    snap=lambda v: next(x for x in (20, 40, 60, 80, 100, 120, 160, 210) if v <= x)),
            *number("[:SOURce#]:DELay", p, "delay", low=0.0, high=999.9999, default=0.0,
                    on_set=lambda s: p.__setitem__("delay_auto", False)),
            *boolean("[:SOURce#]:DELay:AUTO", p, "delay_auto"),
            ("[:SOURce#]:CLEar[:IMMediate]", lambda a, s: self._set_output(False)),
            *boolean("[:SOURce#]:CLEar:AUTO", p, "clear_auto"),
            *number(":SENSe#:CURRent[:DC]:PROTection[:LEVel]", f, "limit", low=-self.max_amps, high=self.max_amps,
                    default=self.default_ilimit, snap=abs),
            (":SENSe#:CURRent[:DC]:PROTection:TRIPped?", lambda a, s: "1" if self.src.tripped else "0"),
            *number(":SENSe#:VOLTage[:DC]:PROTection[:LEVel]", p, "vlim", low=-self.max_volts,
                    high=self.max_volts, default=self.default_vlimit, snap=abs),
            (":SENSe#:VOLTage[:DC]:PROTection:TRIPped?", lambda a, s: "0"),
            (":SENSe#:FUNCtion:CONCurrent[:STATe]", self._conc),
            *boolean(":SENSe#:FUNCtion:CONCurrent[:STATe]", p, "conc"),
            (":SENSe#:FUNCtion[:ON]", self._func_on),
            (":SENSe#:FUNCtion[:ON]?", lambda a, s: ",".join(_FUNC_NAME[x] for x in self.funcs)),
            (":SENSe#:FUNCtion:OFF", self._func_off),
            (":SENSe#:FUNCtion:OFF?", lambda a, s: ",".join(_FUNC_NAME[x] for x in _FUNC_NAME
                                                            if x not in self.funcs)),
            (":SENSe#:FUNCtion[:ON]:ALL", lambda a, s: setattr(self, "funcs", ["VOLT", "CURR", "RES"])),
            (":SENSe#:FUNCtion:OFF:ALL", lambda a, s: setattr(self, "funcs", [])),
            (":SENSe#:FUNCtion:STATe?", lambda a, s: "1" if _functions(a)[0] in self.funcs else "0"),
            *self.range.commands(":SENSe#:CURRent[:DC]"),
            *self.voltage_sense_commands(":SENSe#"),
            *nplc,
            *choice(":SENSe#:RESistance:MODE", p, "rmode", ["MANual"]),
            *boolean(":SENSe#:RESistance:OCOMpensated", p, "ocomp"),
            *boolean(":SENSe#:AVERage[:STATe]", p, "aver"),
            *integer(":SENSe#:AVERage:COUNt", p, "aver_count", low=1, high=100, default=10),
            *choice(":SENSe#:AVERage:TCONtrol", p, "aver_tcon", ["REPeat", "MOVing"]),
            (":SYSTem:AZERo[:STATe]", self._azero),
            *boolean(":SYSTem:AZERo[:STATe]", p, "azero"),
            *boolean(":SYSTem:RSENse", p, "rsense"),
            (":SYSTem:LFRequency", self._lfr),
            (":SYSTem:LFRequency?", lambda a, s: f"{self.line_frequency:g}"),
            *boolean(":SYSTem:LFRequency:AUTO", p, "lfr_auto"),
            (":SYSTem:PRESet", lambda a, s: self.reset()),
            (":SYSTem:TIME?", lambda a, s: f"{self.bench.now() - self.t0:+.6E}"),
            (":SYSTem:TIME:RESet", lambda a, s: setattr(self, "t0", self.bench.now())),
            (":SYSTem:BEEPer[:IMMediate]", lambda a, s: None),
            *boolean(":SYSTem:BEEPer:STATe", p, "beeper"),
            *choice(":SYSTem:GUARd", p, "guard", ["OHMS", "CABLe"]),
            (":SYSTem:LOCal", lambda a, s: None),
            (":SYSTem:REMote", lambda a, s: None),
            (":SYSTem:RWLock", lambda a, s: None),
            (":SYSTem:CLEar", lambda a, s: self._cls()),
            (":FORMat[:DATA]", self._format_data),
            (":FORMat[:DATA]?", lambda a, s: p["format"]),
            (":FORMat:ELEMents[:SENSe#]", self._elements),
            (":FORMat:ELEMents[:SENSe#]?", lambda a, s: ",".join(p["elements"])),
            *choice(":FORMat:SREGister", p, "sreg", ["ASCii", "HEXadecimal", "OCTal", "BINary"]),
            *choice(":FORMat:BORDer", p, "bord", ["NORMal", "SWAPped"]),
            (":OUTPut#[:STATe]", self._output),
            (":OUTPut#[:STATe]?", lambda a, s: "1" if self.src.on else "0"),
            *choice(":OUTPut#:SMODe", p, "smode", ["HIMPedance", "NORMal", "ZERO", "GUARd"]),
            *boolean(":OUTPut#:ENABle[:STATe]", p, "interlock"),
            (":OUTPut#:ENABle:TRIPped?", lambda a, s: "0"),
            *integer(f":{arm}:COUNt", p, "arm_count", low=1, high=2500, default=1),
            *integer(f":{trig}:COUNt", p, "trig_count", low=1, high=2500, default=1),
            *self._trigger_source(f":{arm}:SOURce", "arm_source", ["IMMediate", "TIMer", "MANual", "BUS", "TLINk",
                                                                    "NSTest", "PSTest", "BSTest"]),
            *self._trigger_source(f":{trig}:SOURce", "trig_source", ["IMMediate", "TLINk"]),
            *number(f":{arm}:TIMer", p, "arm_timer", low=0.001, high=99999.99, default=0.1),
            *number(f":{trig}:DELay", p, "trig_delay", low=0.0, high=999.9999, default=0.0),
            *choice(f":{arm}[:TCONfigure]:DIRection", p, "arm_dir", ["ACCeptor", "SOURce"]),
            *choice(f":{trig}[:TCONfigure]:DIRection", p, "trig_dir", ["ACCeptor", "SOURce"]),
            *integer(f":{arm}[:TCONfigure]:ILINe", p, "arm_ilin", low=1, high=4, default=1),
            *integer(f":{arm}[:TCONfigure]:OLINe", p, "arm_olin", low=1, high=4, default=2),
            *integer(f":{trig}[:TCONfigure]:ILINe", p, "ilin", low=1, high=4, default=1),
            *integer(f":{trig}[:TCONfigure]:OLINe", p, "olin", low=1, high=4, default=2),
            *choice(f":{arm}[:TCONfigure]:OUTPut", p, "arm_outp", ["TENTer", "TEXit", "NONE"]),
            *choice(f":{trig}[:TCONfigure]:OUTPut", p, "trig_outp", ["SOURce", "DELay", "SENSe", "NONE"]),
            (":TRIGger:CLEar", lambda a, s: None),
            (":INITiate[:IMMediate]", lambda a, s: self._readings() and None),
            (":ABORt", lambda a, s: None),
            (":READ?", self._read),
            (":FETCh?", self._fetch),
            (":MEASure?", self._meas(None)),
            (":MEASure:CURRent[:DC]?", self._meas("CURR")),
            (":MEASure:VOLTage[:DC]?", self._meas("VOLT")),
            (":MEASure:RESistance?", self._meas("RES")),
            (":CONFigure:CURRent[:DC]", lambda a, s: self._configure("CURR")),
            (":CONFigure:VOLTage[:DC]", lambda a, s: self._configure("VOLT")),
            (":CONFigure:RESistance", lambda a, s: self._configure("RES")),
            (":CONFigure?", lambda a, s: ",".join(_FUNC_NAME[x] for x in self.funcs)),
            *self.status_commands(),
            (":STATus:MEASurement[:EVENt]?", lambda a, s: "0"),
            (":STATus:MEASurement:CONDition?", lambda a, s: "0"),
            *integer(":STATus:MEASurement:ENABle", p, "meas_enable", low=0, high=65535, default=0),
            (":STATus:QUEue[:NEXT]?", lambda a, s: self.next_error()),
            (":STATus:QUEue:CLEar", lambda a, s: self.errors.clear()),
            (":STATus:QUEue:ENABle", lambda a, s: None),
        ]
