"""What the simulated Keithley 2400 and 2450 share: the current measure range, the source subsystem of both
functions (level, range, protection), NPLC and autozero (the conversion time they give), and one reading.

Sourcing current is accepted and reads back (``:SOUR:FUNC CURR``, ``:SOUR:CURR``), but the crossbar physics has
voltage sources only: turning the output on while sourcing current is refused (-221, listed in the command tables).
"""

from __future__ import annotations

from typing import Any

from sim_instruments.bench import SimBench
from sim_instruments.scpi import ScpiDevice, ScpiError
from sim_instruments.scpi._settings import Entry, Fields, boolean, choice, fmt_num, number, snap_up

OVERFLOW = 9.9e37
"""The reading a Keithley SMU returns when the current exceeds its fixed measure range."""
NAN = 9.91e37
"""The value of an element that was not measured (``NAN`` in the manuals)."""


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
        self.range = snap_up(self.ranges)(amps)
        self.auto = False

    def reading(self, amps: float) -> float:
        if self.auto:
            self.range = next((r for r in self.ranges if abs(amps) <= r * self.OVERRANGE), self.ranges[-1])
        if abs(amps) > self.range * self.OVERRANGE:
            return OVERFLOW
        step = self.range * self.resolution
        return round(amps / step) * step

    def commands(self, prefix: str) -> list[Entry]:
        """The ``:SENS:CURR:RANG`` subtree under ``prefix`` (e.g. ``:SENSe#:CURRent[:DC]``)."""
        top = self.ranges[-1]
        fields = Fields({"range": (self, "range"), "auto": (self, "auto")})
        return [
            *number(f"{prefix}:RANGe[:UPPer]", fields, "range", low=-top, high=top, default=top,
                    snap=lambda v: snap_up(self.ranges)(abs(v)), on_set=lambda s: setattr(self, "auto", False)),
            *boolean(f"{prefix}:RANGe:AUTO", fields, "auto"),
        ]


class KeithleySmu(ScpiDevice):
    """Channel 1 of the bench's sources, a :class:`CurrentRange`, the per-message parse/execute time
    (``timing.command``), NPLC and autozero, and the ``*RST`` state of them all. Settings live in ``self.p``."""

    max_volts = 210.0
    max_amps = 1.05
    line_frequency: float
    current_ranges: tuple[float, ...] = ()
    voltage_ranges: tuple[float, ...] = ()
    resolution = 1e-6
    default_ilimit = 1.05e-4
    default_vlimit = 21.0

    def __init__(self, bench: SimBench, name: str) -> None:
        self.bench, self.name = bench, name
        self.key = (name, 1)
        self.src = bench.sources[self.key]
        self.range = CurrentRange(self.current_ranges, self.resolution)
        self.p: dict[str, Any] = {}
        self.fields = Fields({"level": (self.src, "level"), "limit": (self.src, "limit")})
        self.reset()
        super().__init__()
        self.on_message = lambda: bench.advance(bench.timing.command)

    def reset(self) -> None:
        src = self.src
        src.on, src.level, src.limit, src.tripped = False, 0.0, self.default_ilimit, False
        self.range.reset()
        self.p.update({
            "sfunc": "VOLT", "curr": 0.0, "vlim": self.default_vlimit,
            "vrange": self.voltage_ranges[-1], "vrange_auto": True,
            "irange": self.current_ranges[-1], "irange_auto": True,
            "nplc": 1.0, "azero": True, "rsense": False, "smode": "NORM",
            "vmrange": self.voltage_ranges[-1], "vmrange_auto": True, "rrange": 2e5, "rrange_auto": True,
            "aver": False, "aver_count": 10, "aver_tcon": "REP", "status_enable": 0,
        })

    # --- timing --------------------------------------------------------------------------------------------
    @property
    def nplc(self) -> float:
        return float(self.p["nplc"])

    @property
    def autozero(self) -> bool:
        return bool(self.p["azero"])

    def _conversion_time(self) -> float:
        """The conversions of one reading, s: NPLC / line frequency, three of them with autozero on (signal,
        reference and zero), times the filter count when the averaging filter is on."""
        count = int(self.p["aver_count"]) if self.p["aver"] else 1
        return self.nplc / self.line_frequency * (3 if self.autozero else 1) * count

    def _autozero_once(self) -> None:
        """A reference and a zero conversion, now (``AZER:ONCE``)."""
        self.bench.advance(2 * self.nplc / self.line_frequency)

    # --- one reading -------------------------------------------------------------------------------------------
    def _measure(self, hold: float) -> tuple[float, float]:
        """(voltage, current) at the terminals after holding the present state ``hold`` s (a current overflow
        of a fixed range reads ``OVERFLOW``)."""
        amps = self.range.reading(self.bench.measure(self.key, hold))
        return self.src.last_voltage, amps

    def _check_output(self, on: bool) -> None:
        if on and self.p["sfunc"] == "CURR":
            raise ScpiError(-221, "current sourcing is not simulated (voltage sources only)")

    def _set_output(self, on: bool) -> None:
        self._check_output(on)
        self.src.on = on
        if not on:
            self.src.tripped = False

    # --- the source subsystem (both models) --------------------------------------------------------------------
    def source_commands(self, root: str) -> list[Entry]:
        """Function, levels, ranges of both source functions under ``root`` (``[:SOURce#]``)."""
        p, f = self.p, self.fields
        vtop, itop = self.voltage_ranges[-1], self.current_ranges[-1]

        def off(key: str) -> Any:
            return lambda s: p.__setitem__(key, False)

        def func_check(value: str, s: tuple[str, ...]) -> None:
            if self.src.on and value == "CURR":
                raise ScpiError(-221, "current sourcing is not simulated (voltage sources only)")

        return [
            *choice(f"{root}:FUNCtion[:MODE]", p, "sfunc", ["VOLTage", "CURRent"], check=func_check),
            *number(f"{root}:VOLTage[:LEVel][:IMMediate][:AMPLitude]", f, "level", low=-self.max_volts,
                    high=self.max_volts, default=0.0),
            *number(f"{root}:CURRent[:LEVel][:IMMediate][:AMPLitude]", p, "curr", low=-self.max_amps,
                    high=self.max_amps, default=0.0),
            *number(f"{root}:VOLTage:RANGe", p, "vrange", low=-vtop, high=vtop, default=vtop,
                    snap=lambda v: snap_up(self.voltage_ranges)(abs(v)), on_set=off("vrange_auto")),
            *boolean(f"{root}:VOLTage:RANGe:AUTO", p, "vrange_auto"),
            *number(f"{root}:CURRent:RANGe", p, "irange", low=-itop, high=itop, default=itop,
                    snap=lambda v: snap_up(self.current_ranges)(abs(v)), on_set=off("irange_auto")),
            *boolean(f"{root}:CURRent:RANGe:AUTO", p, "irange_auto"),
        ]

    def voltage_sense_commands(self, root: str) -> list[Entry]:
        """Voltage and resistance measure ranges (the current range is :class:`CurrentRange`)."""
        p = self.p
        vtop = self.voltage_ranges[-1]
        return [
            *number(f"{root}:VOLTage[:DC]:RANGe[:UPPer]", p, "vmrange", low=-vtop, high=vtop, default=vtop,
                    snap=lambda v: snap_up(self.voltage_ranges)(abs(v)),
                    on_set=lambda s: p.__setitem__("vmrange_auto", False)),
            *boolean(f"{root}:VOLTage[:DC]:RANGe:AUTO", p, "vmrange_auto"),
            *number(f"{root}:RESistance:RANGe[:UPPer]", p, "rrange", low=0.0, high=2.1e8, default=2e5,
                    snap=snap_up((20.0, 200.0, 2e3, 2e4, 2e5, 2e6, 2e7, 2e8)),
                    on_set=lambda s: p.__setitem__("rrange_auto", False)),
            *boolean(f"{root}:RESistance:RANGe:AUTO", p, "rrange_auto"),
        ]

    def status_commands(self) -> list[Entry]:
        """``:STATus``: the operation and questionable registers (no event is modelled: they read 0)."""
        p = self.p
        zero: list[Entry] = []
        for reg in ("OPERation", "QUEStionable"):
            zero += [(f":STATus:{reg}[:EVENt]?", lambda a, s: "0"), (f":STATus:{reg}:CONDition?", lambda a, s: "0"),
                     *number(f":STATus:{reg}:ENABle", p, f"en_{reg}", low=0, high=65535, default=0,
                             fmt=lambda v: str(round(v)))]
        p.setdefault("en_OPERation", 0)
        p.setdefault("en_QUEStionable", 0)
        return [*zero, (":STATus:PRESet", lambda a, s: self._status_preset())]

    def _status_preset(self) -> None:
        self.p["en_OPERation"] = self.p["en_QUEStionable"] = 0

    def reply(self, values: list[float]) -> str:
        return ",".join(fmt_num(v) for v in values)
