"""Transcripts of the 33500B driver: the modes it selects and verifies at connect, and one pulse message."""

from __future__ import annotations

import math

import pytest

from instruments import Keysight33500B, SourceLimits
from labctl.core.errors import InstrumentError, LimitError
from labctl.core.limits import SafetyLimits
from tests.instruments.scripted import Scripted

LIMITS = SourceLimits.of(SafetyLimits(min_pulse_width=1.6e-8, max_pulse_width=1e-3, compliance=1.0))
IDN = "Keysight Technologies,33522B,MY1,4.00"


def _setup(ch: int) -> list[str]:
    return [f":OUTP{ch} OFF", f":OUTP{ch}:LOAD INF", f":SOUR{ch}:FUNC PULS", f":SOUR{ch}:FUNC:PULS:PER 1e-3",
            f":SOUR{ch}:VOLT:LOW 0", f":SOUR{ch}:VOLT:HIGH 0.001", f":OUTP{ch}:POL NORM", f":SOUR{ch}:BURS:MODE TRIG",
            f":SOUR{ch}:BURS:NCYC 1", f":TRIG{ch}:SOUR BUS", f":SOUR{ch}:BURS:STAT ON"]


def _connect(extra: list[tuple[str, str | None]]) -> tuple[Keysight33500B, Scripted]:
    verify = [(f":SOUR{c}:FUNC?;:SOUR{c}:BURS:STAT?;:SOUR{c}:BURS:MODE?;:TRIG{c}:SOUR?;:OUTP{c}:LOAD?",
               "PULS;1;TRIG;BUS;+9.900000000000000E+37") for c in (1, 2)]
    t = Scripted([("*IDN?", IDN), (";".join(["*CLS", *_setup(1), *_setup(2)]), None), *verify,
                  (":SYST:ERR?", '+0,"No error"'), *extra])
    return Keysight33500B("awg", t, LIMITS), t  # type: ignore[arg-type]


async def test_connect_then_a_negative_pulse_with_v2_bias() -> None:
    pulse = (":OUTP1:POL INV;:SOUR1:VOLT:LOW -1.3;:SOUR1:VOLT:HIGH 0;:SOUR1:FUNC:PULS:WIDT 2e-08;"
             ":SOUR1:FUNC:PULS:PER 1.04e-06;:SOUR1:FUNC:PULS:TRAN 8.4e-09;"
             ":OUTP2:POL INV;:SOUR2:VOLT:LOW -0.65;:SOUR2:VOLT:HIGH 0;:SOUR2:FUNC:PULS:WIDT 2e-08;"
             ":SOUR2:FUNC:PULS:PER 1.04e-06;:SOUR2:FUNC:PULS:TRAN 8.4e-09;"
             ":OUTP1 ON;:OUTP2 ON;*TRG;:OUTP1 OFF;:OUTP2 OFF;*OPC?")
    # width first: the period shrinks from 1 ms, and the width must stay below it minus 16 ns at every step
    again = ":OUTP1 ON;:OUTP2 ON;*TRG;:OUTP1 OFF;:OUTP2 OFF;*OPC?"  # nothing changed: no settings resent
    awg, t = _connect([(pulse, "1"), (again, "1")])
    await awg.configure()
    assert math.isnan(await awg.pulse_channels({1: -1.3, 2: -0.65}, 2e-8))
    await awg.pulse_channels({1: -1.3, 2: -0.65}, 2e-8)
    assert awg.output_on == {1: False, 2: False}
    t.done()


async def test_wrong_mode_readback_and_limits_raise_before_sending() -> None:
    t = Scripted([("*IDN?", IDN), (";".join(["*CLS", *_setup(1), *_setup(2)]), None),
                  (":SOUR1:FUNC?;:SOUR1:BURS:STAT?;:SOUR1:BURS:MODE?;:TRIG1:SOUR?;:OUTP1:LOAD?",
                   "SIN;0;TRIG;IMM;+5.0E+01")])
    awg = Keysight33500B("awg", t, LIMITS)  # type: ignore[arg-type]
    with pytest.raises(InstrumentError, match="awg: modes not set"):
        await awg.configure()
    with pytest.raises(LimitError, match="width"):
        awg.check_pulse({1: 1.0}, 1e-8, 8.4e-9)
    with pytest.raises(LimitError, match="volts"):
        await awg.pulse_channels({1: 5.0}, 2e-8)  # beyond the bench's 3.5 V
    t.done()
