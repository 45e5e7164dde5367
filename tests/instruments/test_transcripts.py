"""Transcript tests: the exact commands each driver sends, and what it makes of the replies."""

from __future__ import annotations

import pytest

from instruments import Keithley707B, Keithley2400, Keithley2450, KeysightB2201A, KeysightB2902, SourceLimits
from labctl.core import LimitError, SafetyLimits, TransportError
from tests.instruments.scripted import Scripted
from tests.instruments.smu_script import b2902_configure, k2400_configure, k2450_configure

LIM = SourceLimits.of(SafetyLimits(max_program_voltage=3.0, read_clamp=0.2, compliance=1e-3,
                                   min_pulse_width=5e-5, max_pulse_width=1e-2))


async def test_b2902_configure_read_pulse() -> None:
    t = Scripted([
        *b2902_configure(),
        (":SOUR1:VOLT 0.1;:SOUR2:VOLT 0.1;:OUTP1 ON;:OUTP2 ON;:MEAS:CURR? (@1);:OUTP1 OFF;:SOUR1:VOLT 0;"
         ":OUTP2 OFF;:SOUR2:VOLT 0", "+1.250000E-05"),
        # the base level is known to be 0 V (the read left it there): not re-sent
        (":SOUR1:FUNC:SHAP PULS;:SOUR1:PULS:WIDT 0.0001;:SOUR1:VOLT:TRIG 1.5;:OUTP1 ON;"
         ":SOUR2:FUNC:SHAP PULS;:SOUR2:PULS:WIDT 0.0001;:SOUR2:VOLT:TRIG 0.75;:OUTP2 ON;"
         ":INIT (@1,2);:FETC:CURR? (@1);:OUTP1 OFF;:OUTP2 OFF", "+2.000000E-04"),
        (":SOUR1:VOLT:TRIG 1.6;:OUTP1 ON;:SOUR2:VOLT:TRIG 0.8;:OUTP2 ON;"
         ":INIT (@1,2);:FETC:CURR? (@1);:OUTP1 OFF;:OUTP2 OFF", "+2.100000E-04"),
    ])
    smu = KeysightB2902("smu", t, LIM)
    await smu.configure()
    assert await smu.read_with_bias(1, 0.1, [2]) == pytest.approx(1.25e-5)
    assert await smu.pulse_channels({1: 1.5, 2: 0.75}, 1e-4, measure=1) == pytest.approx(2e-4)
    # unchanged shape, width and base level are not re-sent
    assert await smu.pulse_channels({1: 1.6, 2: 0.8}, 1e-4, measure=1) == pytest.approx(2.1e-4)
    assert not smu.is_live(1)
    assert not smu.is_live(2)
    t.done()


def _configured(extra: list[tuple[str, str | None]]) -> Scripted:
    return Scripted([
        *b2902_configure(),
        *extra,
    ])


def _pulse_read(setup1: str = "", setup2: str = "") -> str:
    return (f":SOUR1:FUNC:SHAP PULS;{setup1}:SOUR1:VOLT:TRIG -1.2;:OUTP1 ON;"
            f":SOUR2:FUNC:SHAP PULS;{setup2}:SOUR2:VOLT:TRIG -0.6;:OUTP2 ON;"
            ":INIT (@1,2);:FETC:CURR? (@1);:OUTP1 OFF;:OUTP2 OFF;"
            ":SOUR1:FUNC:SHAP DC;:SOUR2:FUNC:SHAP DC;:SOUR1:VOLT 0.1;:SOUR2:VOLT 0.1;:OUTP1 ON;:OUTP2 ON;"
            ":MEAS:CURR? (@1);:OUTP1 OFF;:SOUR1:VOLT 0;:OUTP2 OFF;:SOUR2:VOLT 0")


PULSE_READ = _pulse_read(":SOUR1:PULS:WIDT 5e-05;", ":SOUR2:PULS:WIDT 5e-05;")


async def test_b2902_pulse_and_read_is_one_message_with_both_replies() -> None:
    t = _configured([(PULSE_READ, "-3.000000E-04;+4.000000E-06"), (_pulse_read(), "-3.100000E-04;+4.100000E-06")])
    smu = KeysightB2902("smu", t, LIM)
    await smu.configure()
    i_pulse, i_read = await smu.pulse_and_read({1: -1.2, 2: -0.6}, 5e-5, measure=1, read_volts=0.1, biases=[2])
    assert i_pulse == pytest.approx(-3e-4)
    assert i_read == pytest.approx(4e-6)
    # the shapes alternate (pulse, then DC read) so each message sets them; the width is not sent again
    i_pulse, i_read = await smu.pulse_and_read({1: -1.2, 2: -0.6}, 5e-5, measure=1, read_volts=0.1, biases=[2])
    assert i_pulse == pytest.approx(-3.1e-4)
    assert i_read == pytest.approx(4.1e-6)
    assert not smu.is_live(1)
    assert not smu.is_live(2)
    t.done()


async def test_b2902_forgets_cached_settings_after_a_failure() -> None:
    full = _pulse_read(":TRIG1:SOUR AINT;:SOUR1:PULS:WIDT 5e-05;:SOUR1:VOLT 0;",
                       ":TRIG2:SOUR AINT;:SOUR2:PULS:WIDT 5e-05;:SOUR2:VOLT 0;")
    t = _configured([(PULSE_READ, "garbled"), (full, "-3.000000E-04;+4.000000E-06")])
    smu = KeysightB2902("smu", t, LIM)
    await smu.configure()
    with pytest.raises(TransportError, match="garbled"):
        await smu.pulse_and_read({1: -1.2, 2: -0.6}, 5e-5, measure=1, read_volts=0.1, biases=[2])
    assert smu.is_live(1)  # outcome unknown: the hot-switch interlock assumes the outputs on
    assert smu.is_live(2)
    # nothing is assumed after the failure: trigger source, width and base level are all sent again
    await smu.pulse_and_read({1: -1.2, 2: -0.6}, 5e-5, measure=1, read_volts=0.1, biases=[2])
    t.done()


async def test_b2902_limit_on_one_channel_leaves_the_cache_untouched() -> None:
    t = _configured([(PULSE_READ, "-3.000000E-04;+4.000000E-06")])
    smu = KeysightB2902("smu", t, LIM)
    await smu.configure()
    with pytest.raises(LimitError):  # channel 2 over the limit: refused before channel 1's setup is cached
        await smu.pulse_channels({1: -1.2, 2: -3.5}, 5e-5, measure=1)
    with pytest.raises(LimitError, match="read clamp"):  # the read part is checked before the pulse is built
        await smu.pulse_and_read({1: -1.2, 2: -0.6}, 5e-5, measure=1, read_volts=0.5, biases=[2])
    await smu.pulse_and_read({1: -1.2, 2: -0.6}, 5e-5, measure=1, read_volts=0.1, biases=[2])
    t.done()


async def test_b2902_limits_raise_before_sending() -> None:
    t = Scripted([])
    smu = KeysightB2902("smu", t, LIM)
    with pytest.raises(LimitError, match=r"max_program_voltage|source maximum"):
        await smu.pulse_channels({1: 3.5}, 1e-4, measure=1)
    with pytest.raises(LimitError, match="width"):
        await smu.pulse_channels({1: 1.0}, 1e-6, measure=1)
    with pytest.raises(LimitError, match="read clamp"):
        await smu.read(0.5)
    with pytest.raises(LimitError, match="compliance"):
        await smu.set_compliance(0.01)
    assert t.sent == []


async def test_2450_transcript() -> None:
    t = Scripted([
        *k2450_configure(),
        (":SOUR:VOLT:DEL 0;:SOUR:VOLT 0.1;:OUTP ON;:MEAS:CURR?;:OUTP OFF;:SOUR:VOLT 0", "+1.000000E-06"),
        (":SOUR:VOLT:ILIM 0.0005", None),
        (":SOUR:VOLT:ILIM:TRIP?", "0"),
    ])
    smu = Keithley2450("k", t, LIM)
    await smu.configure()
    assert await smu.read(0.1) == pytest.approx(1e-6)
    await smu.set_compliance(5e-4)
    assert await smu.limit_tripped() is False
    t.done()


async def test_2450_wrong_language_is_refused() -> None:
    t = Scripted([("*IDN?", "KEITHLEY INSTRUMENTS INC.,MODEL 2450,1,1"), ("*LANG?", "SCPI2400")])
    with pytest.raises(Exception, match="LANG SCPI"):
        await Keithley2450("k", t, LIM).configure()


async def test_2400_transcript() -> None:
    t = Scripted([
        *k2400_configure(),
        (":SOUR:VOLT -0.2;:OUTP ON;:READ?;:OUTP OFF;:SOUR:VOLT 0", "-2.000000E-06"),
    ])
    smu = Keithley2400("k", t, LIM)
    await smu.configure()
    assert await smu.read(-0.2) == pytest.approx(-2e-6)
    t.done()


async def test_matrix_forbidden_states_raise_before_sending() -> None:
    t = Scripted([])
    m = KeysightB2201A("m", t, LIM, cards=1, outputs_per_card=12)
    with pytest.raises(LimitError, match="two sources"):
        await m.route({(1, 3), (2, 3)})
    m.live_inputs = lambda: {4}
    with pytest.raises(LimitError, match="hot-switch"):
        await m.route({(4, 1)})
    with pytest.raises(LimitError, match="out of range"):
        await m.route({(1, 13)})
    assert t.sent == []


async def test_707b_transcript() -> None:
    t = Scripted([
        ('channel.close("1A01,2B01") print(channel.getclose("allslots"))', "1A01;2B01"),
        ('channel.open("2B01") channel.close("2C01") print(channel.getclose("allslots"))', "1A01;2C01"),
        ('channel.open("allslots") print(channel.getclose("allslots"))', "nil"),
    ])
    m = Keithley707B("k7", t, LIM, cards=2, outputs_per_card=12, inputs=8)
    await m.route({(1, 1), (2, 13)})
    assert m.spec((2, 13)) == "2B01"
    await m.route({(1, 1), (3, 13)})
    await m.open_all()
    assert m.state == set()
    t.done()
