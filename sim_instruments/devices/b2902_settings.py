"""The per-channel settings of the simulated B2902 (``:SOUR<c>``, ``:SENS<c>``, ``:OUTP<c>``, ``:TRIG<c>``,
``:ARM<c>``): every one reads back through its query, including the NPLC/aperture pair (one setting, two units)."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from sim_instruments.scpi import ScpiError, parse_bool, parse_number
from sim_instruments.scpi._settings import Entry, boolean, choice, fmt_num, integer, keyword_value, number, snap_up

if TYPE_CHECKING:
    from sim_instruments.devices.b2902 import SimB2902

VOLT_RANGES = (0.2, 2.0, 20.0, 200.0)
CURR_RANGES = (1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0, 1.5, 3.0)
_FUNC_NAME = {"VOLT": '"VOLT"', "CURR": '"CURR"', "RES": '"RES"'}


class PerChannel(MutableMapping[str, Any]):
    """``store["width.2"]``: setting ``width`` of channel 2 (the channel's ``p`` dict or attribute; ``src_level``
    and ``src_limit`` are the bench source's). An unknown channel is -114."""

    def __init__(self, dev: SimB2902) -> None:
        self.dev = dev

    def _where(self, key: str) -> tuple[Any, str]:
        name, _, n = key.partition(".")
        ch = self.dev.ch.get(int(n or 1))
        if ch is None:
            raise ScpiError(-114, f"channel {n}")
        if name.startswith("src_"):
            return self.dev.bench.sources[(self.dev.name, int(n or 1))], name[4:]
        return (ch.p, name) if name in ch.p else (ch, name)

    def __getitem__(self, key: str) -> Any:
        obj, name = self._where(key)
        return obj[name] if isinstance(obj, dict) else getattr(obj, name)

    def __setitem__(self, key: str, value: Any) -> None:
        obj, name = self._where(key)
        if isinstance(obj, dict):
            obj[name] = value
        else:
            setattr(obj, name, value)

    def __delitem__(self, key: str) -> None:
        raise TypeError("settings cannot be deleted")

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def _channel(dev: SimB2902, s: tuple[str, ...]) -> int:
    n = int(s[0]) if s and s[0] else 1
    if n not in dev.ch:
        raise ScpiError(-114, f"channel {n}")
    return n


def _functions(a: list[str]) -> list[str]:
    if not a:
        raise ScpiError(-109)
    return [keyword_value(x.strip().strip("\"'").upper().removesuffix(":DC"), ["VOLTage", "CURRent", "RESistance"])
            for x in a]


def channel_settings(dev: SimB2902) -> list[Entry]:
    """The command table entries of both channels' settings."""
    st = PerChannel(dev)
    top_v, top_i = dev.max_volts, dev.max_amps

    def sources_current(n: int) -> None:
        raise ScpiError(-221, f"channel {n}: current sourcing is not simulated (voltage sources only)")

    def mode_check(value: str, s: tuple[str, ...]) -> None:
        n = _channel(dev, s)
        if value == "CURR" and dev.bench.sources[(dev.name, n)].on:
            sources_current(n)

    def output(a: list[str], s: tuple[str, ...]) -> None:
        n = _channel(dev, s)
        on = parse_bool(a[0] if a else None)
        if on and dev.ch[n].p["mode"] == "CURR":
            sources_current(n)
        src = dev.bench.sources[(dev.name, n)]
        src.on = on
        if not on:
            src.tripped = False

    def fixed_only(value: str, s: tuple[str, ...]) -> None:
        if value != "FIX":
            raise ScpiError(-221, f"source mode {value} is not simulated (FIXed only)")

    def nplc_set(a: list[str], s: tuple[str, ...]) -> None:
        lf = dev.line_frequency
        value = parse_number(a[0] if a else None, low=8e-6 * lf, high=2.0 * lf, default=0.1)
        dev.ch[_channel(dev, s)].p["aperture"] = value / lf

    def nplc_get(a: list[str], s: tuple[str, ...]) -> str:
        lf = dev.line_frequency
        if a:
            return fmt_num({"MIN": 8e-6 * lf, "MAX": 2.0 * lf, "DEF": 0.1}[a[0].upper()[:3]])
        return fmt_num(float(dev.ch[_channel(dev, s)].p["aperture"]) * lf)

    def func_on(a: list[str], s: tuple[str, ...]) -> None:
        c = dev.ch[_channel(dev, s)]
        new = _functions(a)
        c.p["funcs"] = [f for f in ("VOLT", "CURR", "RES") if f in c.p["funcs"] or f in new]

    def func_off(a: list[str], s: tuple[str, ...]) -> None:
        c = dev.ch[_channel(dev, s)]
        off = _functions(a)
        c.p["funcs"] = [f for f in c.p["funcs"] if f not in off]

    def funcs_query(a: list[str], s: tuple[str, ...]) -> str:
        return ",".join(_FUNC_NAME[f] for f in dev.ch[_channel(dev, s)].p["funcs"])

    def all_funcs(on: bool) -> Any:
        def handler(a: list[str], s: tuple[str, ...]) -> None:
            dev.ch[_channel(dev, s)].p["funcs"] = ["VOLT", "CURR", "RES"] if on else []
        return handler

    def tripped(a: list[str], s: tuple[str, ...]) -> str:
        return "1" if dev.bench.sources[(dev.name, _channel(dev, s))].tripped else "0"

    def off(key: str) -> Any:
        return lambda s: st.__setitem__(f"{key}.{s[0] if s and s[0] else 1}", False)

    def trigger_source(a: list[str], s: tuple[str, ...]) -> None:
        word = (a[0] if a else "").upper()
        if not (word in ("AINT", "BUS", "TIM", "TIMER", "INT1", "INT2", "LAN") or word.startswith("EXT")):
            raise ScpiError(-224 if word else -109, word)
        word = "TIM" if word == "TIMER" else word
        c = dev.ch[_channel(dev, s)]
        c.trig_source = c.p["acq_source"] = word

    entries: list[Entry] = [
        *choice("[:SOURce#]:FUNCtion:MODE", st, "mode.{}", ["VOLTage", "CURRent"], check=mode_check),
        *choice("[:SOURce#]:FUNCtion[:SHAPe]", st, "shape.{}", ["DC", "PULSe"]),
        *boolean("[:SOURce#]:FUNCtion:TRIGgered:CONTinuous", st, "cont.{}"),
        *number("[:SOURce#]:VOLTage[:LEVel][:IMMediate][:AMPLitude]", st, "src_level.{}", low=-top_v, high=top_v,
                default=0.0),
        *number("[:SOURce#]:VOLTage[:LEVel]:TRIGgered[:AMPLitude]", st, "trig_level.{}", low=-top_v, high=top_v,
                default=0.0),
        *number("[:SOURce#]:CURRent[:LEVel][:IMMediate][:AMPLitude]", st, "curr.{}", low=-top_i, high=top_i,
                default=0.0),
        *number("[:SOURce#]:CURRent[:LEVel]:TRIGgered[:AMPLitude]", st, "curr_trig.{}", low=-top_i, high=top_i,
                default=0.0),
        *choice("[:SOURce#]:VOLTage:MODE", st, "vmode.{}", ["FIXed", "LIST", "SWEep"], check=fixed_only),
        *choice("[:SOURce#]:CURRent:MODE", st, "cmode.{}", ["FIXed", "LIST", "SWEep"], check=fixed_only),
        *number("[:SOURce#]:VOLTage:RANGe", st, "vrange.{}", low=-200.0, high=200.0, default=200.0,
                snap=lambda v: snap_up(VOLT_RANGES)(abs(v)), on_set=off("vrange_auto")),
        *boolean("[:SOURce#]:VOLTage:RANGe:AUTO", st, "vrange_auto.{}"),
        *number("[:SOURce#]:CURRent:RANGe", st, "irange.{}", low=-3.03, high=3.03, default=3.03,
                snap=lambda v: snap_up(CURR_RANGES)(abs(v)), on_set=off("irange_auto")),
        *boolean("[:SOURce#]:CURRent:RANGe:AUTO", st, "irange_auto.{}"),
        *number("[:SOURce#]:PULSe:WIDTh", st, "width.{}", low=5e-5, high=99999.9, default=1e-4),
        *number("[:SOURce#]:PULSe:DELay", st, "delay.{}", low=0.0, high=99999.9, default=0.0),
        *number(":SENSe#:CURRent[:DC]:PROTection[:LEVel]", st, "src_limit.{}", low=1e-8, high=top_i,
                default=1e-4),
        (":SENSe#:CURRent[:DC]:PROTection:TRIPped?", tripped),
        *number(":SENSe#:VOLTage[:DC]:PROTection[:LEVel]", st, "vlim.{}", low=2e-2, high=top_v, default=2.0),
        (":SENSe#:VOLTage[:DC]:PROTection:TRIPped?", lambda a, s: "0"),
        (":SENSe#:FUNCtion[:ON]", func_on),
        (":SENSe#:FUNCtion[:ON]?", funcs_query),
        (":SENSe#:FUNCtion:OFF", func_off),
        (":SENSe#:FUNCtion[:ON]:ALL", all_funcs(True)),
        (":SENSe#:FUNCtion:OFF:ALL", all_funcs(False)),
        (":SENSe#:FUNCtion:STATe?",
         lambda a, s: "1" if _functions(a)[0] in dev.ch[_channel(dev, s)].p["funcs"] else "0"),
        *number(":SENSe#:CURRent[:DC]:RANGe[:UPPer]", st, "mirange.{}", low=-3.03, high=3.03, default=3.03,
                snap=lambda v: snap_up(CURR_RANGES)(abs(v)), on_set=off("mirange_auto")),
        *boolean(":SENSe#:CURRent[:DC]:RANGe:AUTO", st, "mirange_auto.{}"),
        *number(":SENSe#:VOLTage[:DC]:RANGe[:UPPer]", st, "mvrange.{}", low=-200.0, high=200.0, default=200.0,
                snap=lambda v: snap_up(VOLT_RANGES)(abs(v)), on_set=off("mvrange_auto")),
        *boolean(":SENSe#:VOLTage[:DC]:RANGe:AUTO", st, "mvrange_auto.{}"),
        *boolean(":SENSe#:REMote", st, "remote.{}"),
        *choice(":SENSe#:RESistance:MODE", st, "rmode.{}", ["MANual"]),
        *boolean(":SENSe#:RESistance:OCOMpensated", st, "ocomp.{}"),
        (":OUTPut#[:STATe]", output),
        (":OUTPut#[:STATe]?", lambda a, s: "1" if dev.bench.sources[(dev.name, _channel(dev, s))].on else "0"),
        *choice(":OUTPut#:OFF:MODE", st, "off_mode.{}", ["ZERO", "HIZ", "NORMal"]),
        *boolean(":OUTPut#:OFF:AUTO", st, "off_auto.{}"),
        *boolean(":OUTPut#:ON:AUTO", st, "on_auto.{}"),
        *boolean(":OUTPut#:PROTection[:STATe]", st, "prot.{}"),
        *choice(":OUTPut#:LOW", st, "low.{}", ["FLOat", "GROund"]),
        *boolean(":OUTPut#:FILTer[:LPASs][:STATe]", st, "filter.{}"),
        *boolean(":OUTPut#:HCAPacitance[:STATe]", st, "hcap.{}"),
        (":TRIGger#[:ALL]:SOURce", trigger_source),
        (":TRIGger#:TRANsient:SOURce", trigger_source),
        (":TRIGger#[:TRANsient]:SOURce?", lambda a, s: dev.ch[_channel(dev, s)].trig_source),
        (":TRIGger#:ACQuire:SOURce?", lambda a, s: dev.ch[_channel(dev, s)].p["acq_source"]),
        *integer(":TRIGger#[:ALL]:COUNt", st, "trig_count.{}", low=1, high=100000, default=1),
        *number(":TRIGger#:TRANsient:DELay", st, "trig_delay.{}", low=0.0, high=100.0, default=0.0),
        *number(":TRIGger#:ACQuire:DELay", st, "acq_delay.{}", low=0.0, high=100.0, default=0.0),
        *number(":TRIGger#[:ALL]:TIMer", st, "trig_timer.{}", low=1e-5, high=1e5, default=1e-3),
        *integer(":ARM#[:ALL]:COUNt", st, "arm_count.{}", low=1, high=100000, default=1),
        *number(":ARM#[:ALL]:DELay", st, "arm_delay.{}", low=0.0, high=100.0, default=0.0),
        *choice(":ARM#[:ALL]:SOURce", st, "arm_source.{}", ["AINT", "BUS", "TIMer", "INT1", "INT2", "LAN",
                                                             "EXT1", "EXT2"]),
    ]
    for fn in ("CURRent", "VOLTage", "RESistance"):
        entries += [(f":SENSe#:{fn}[:DC]:NPLCycles", nplc_set), (f":SENSe#:{fn}[:DC]:NPLCycles?", nplc_get),
                    *number(f":SENSe#:{fn}[:DC]:APERture", st, "aperture.{}", low=8e-6, high=2.0, default=2e-3),
                    *boolean(f":SENSe#:{fn}[:DC]:APERture:AUTO", st, "aper_auto.{}"),
                    *boolean(f":SENSe#:{fn}[:DC]:NPLCycles:AUTO", st, "aper_auto.{}")]
    return entries
