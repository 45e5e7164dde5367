"""Keysight B2201A driver transcripts in both channel-configuration modes (B2200 user's guide, ROUTe subsystem):
the modes selected and read back at connect, channel numbers per mode, routing by difference, strict replies."""

from __future__ import annotations

import pytest

from instruments import KeysightB2201A, SourceLimits
from labctl.core import ConfigError, InstrumentError, SafetyLimits
from tests.instruments.scripted import Scripted

LIM = SourceLimits.of(SafetyLimits(max_program_voltage=3.0, read_clamp=0.2, compliance=1e-3,
                                   min_pulse_width=5e-5, max_pulse_width=1e-2))
IDN = ("*IDN?", "AGILENT TECHNOLOGIES,B2201A,0,A.01.00")


def _connect(mode: str, cards: int) -> list[tuple[str, str | None]]:
    keys = [0] if mode == "ACON" else list(range(1, cards + 1))
    query = ":ROUT:FUNC?" + "".join(f";:ROUT:CONN:RULE? {k};:ROUT:CONN:SEQ? {k};:ROUT:BIAS? {k};:ROUT:AGND? {k};"
                                     f":ROUT:COUP? {k}" for k in keys)
    return [
        IDN,
        (f"*CLS;:ROUT:FUNC {mode};:ROUT:CONN:RULE ALL,FREE;:ROUT:CONN:SEQ ALL,BBM;:ROUT:BIAS ALL,OFF;"
         ":ROUT:AGND ALL,OFF;:ROUT:COUP ALL,OFF", None),
        (query, ";".join([mode] + ["FREE", "BBM", "0", "0", "0"] * len(keys))),
        (":ROUT:OPEN:CARD ALL;*OPC?", "1"),
        (":SYST:ERR?", '+0,"No error"'),
    ]


async def test_auto_config_numbers_outputs_across_the_cards() -> None:
    t = Scripted([
        *_connect("ACON", 2),
        # card 0: input 01..14, outputs 01..24; a range may run across the card boundary
        (":ROUT:CLOS (@00101:00104,00220,00311:00314);:ROUT:CLOS? (@00101:00104,00220,00311:00314)",
         "1,1,1,1,1,1,1,1,1"),
        (":ROUT:OPEN (@00104);:ROUT:CLOS (@00116);:ROUT:CLOS? (@00104,00116)", "0,1"),
        (":ROUT:CLOS:CARD? 0", "(@00101,00102,00103,00116,00220,00311,00312,00313,00314)"),
        (":ROUT:CLOS (@00105);:ROUT:CLOS? (@00105)", "0"),
    ])
    m = KeysightB2201A("m", t, LIM, cards=2, outputs_per_card=12)
    await m.configure()
    target = {(1, 1), (1, 2), (1, 3), (1, 4), (2, 20), (3, 11), (3, 12), (3, 13), (3, 14)}
    assert await m.route(target) == 9
    target = (target - {(1, 4)}) | {(1, 16)}
    assert await m.route(target) == 2
    assert await m.route(target) == 0  # nothing to do: nothing sent
    assert await m.closed() == frozenset(target)
    with pytest.raises(InstrumentError, match=r"stuck relay.*input 1, output 5"):
        await m.route(target | {(1, 5)})
    t.done()


async def test_normal_config_numbers_outputs_per_card() -> None:
    t = Scripted([
        *_connect("NCON", 2),
        # the user's guide example: card 1 input 01 output 01, card 1 input 02 output 02
        (":ROUT:CLOS (@10101,10202);:ROUT:CLOS? (@10101,10202)", "1,1"),
        # output 20 = card 2 output 08; a run of outputs 11..14 splits at the card boundary
        (":ROUT:CLOS (@20208,10311:10312,20301:20302);:ROUT:CLOS? (@20208,10311:10312,20301:20302)",
         "1,1,1,1,1"),
        (":ROUT:CLOS:CARD? 1;:ROUT:CLOS:CARD? 2", "(@10101,10202,10311,10312);(@20208,20301,20302)"),
    ])
    m = KeysightB2201A("m", t, LIM, cards=2, outputs_per_card=12, config_mode="normal")
    await m.configure()
    assert m.spec((2, 14)) == "20202"
    await m.route({(1, 1), (2, 2)})
    target = {(1, 1), (2, 2), (2, 20), (3, 11), (3, 12), (3, 13), (3, 14)}
    await m.route(target)
    assert await m.closed() == frozenset(target)
    t.done()


_HEAD = _connect("ACON", 1)
_CHECK = _HEAD[2][0]


@pytest.mark.parametrize(("pairs", "match"), [
    ([("*IDN?", "KEITHLEY INSTRUMENTS INC.,MODEL 2450,04400001,1.7.3b")],
     r"m: unexpected reply .*MODEL 2450.* to '\*IDN\?'"),
    ([*_HEAD[:2], (_CHECK, "NCON;FREE;BBM;0;0;0")],
     r"m: unexpected reply 'NCON;FREE;BBM;0;0;0' to ':ROUT:FUNC\?;:ROUT:CONN:RULE\? 0.*expected ACON;FREE;BBM;0;0;0"),
    ([*_HEAD[:2], (_CHECK, "ACON;SROU;BBM;0;0;0")], r"expected ACON;FREE"),
    ([*_HEAD[:2], (_CHECK, "ACON;FREE;BBM;1;0;0")], r"unexpected reply"),
    ([*_HEAD[:3], (":ROUT:OPEN:CARD ALL;*OPC?", "")], r"unexpected reply '' to ':ROUT:OPEN:CARD ALL"),
])
async def test_connect_refuses_an_unexpected_reply(pairs: list[tuple[str, str | None]], match: str) -> None:
    m = KeysightB2201A("m", Scripted(pairs), LIM, cards=1, outputs_per_card=12)
    with pytest.raises(InstrumentError, match=match):
        await m.configure()


async def test_replies_are_parsed_strictly() -> None:
    t = Scripted([
        (":ROUT:CLOS (@00101);:ROUT:CLOS? (@00101)", "1,1"),
        (":ROUT:CLOS:CARD? 0", "(@10101)"),  # a normal-config number from an auto-config card
        (":ROUT:CLOS:CARD? 0", "00101"),
    ])
    m = KeysightB2201A("m", t, LIM, cards=1, outputs_per_card=12)
    with pytest.raises(InstrumentError, match=r"m: garbled relay readback: unexpected reply '1,1' to "
                                              r"':ROUT:CLOS \(@00101\);:ROUT:CLOS\? \(@00101\)'"):
        await m.route({(1, 1)})
    with pytest.raises(InstrumentError, match=r"unexpected reply '\(@10101\)' to ':ROUT:CLOS:CARD\? 0'"):
        await m.closed()
    with pytest.raises(InstrumentError, match="not a channel list"):
        await m.closed()
    t.done()


def test_the_driver_refuses_cards_the_model_does_not_have() -> None:
    with pytest.raises(ConfigError, match="at most 4 B2211A cards of 12 outputs"):
        KeysightB2201A("m", Scripted([]), LIM, cards=2, outputs_per_card=64)
    with pytest.raises(ConfigError, match="at most 4"):
        KeysightB2201A("m", Scripted([]), LIM, cards=5, outputs_per_card=12)
    with pytest.raises(ConfigError, match="config_mode"):
        KeysightB2201A("m", Scripted([]), LIM, cards=1, outputs_per_card=12, config_mode="single")
