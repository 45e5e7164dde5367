"""The SMU drivers select every mode at connect and verify it; a reply the manual does not allow is an error
naming the instrument and the command, never a silent False."""

from __future__ import annotations

import pytest

from instruments import Keithley2400, Keithley2450, KeysightB2902, SourceLimits
from labctl.core import SafetyLimits
from labctl.core.errors import InstrumentError
from tests.instruments.scripted import Scripted
from tests.instruments.smu_script import Step, b2902_configure, k2400_configure, k2450_configure

LIM = SourceLimits.of(SafetyLimits(max_program_voltage=3.0, read_clamp=0.2, compliance=1e-3,
                                   min_pulse_width=5e-5, max_pulse_width=1e-2))


def _replace(steps: list[Step], query: str, reply: str) -> list[Step]:
    """The connect transcript with ``query`` answered ``reply`` and nothing after it (the driver stops there)."""
    out = []
    for q, r in steps:
        if q == query:
            return [*out, (q, reply)]
        out.append((q, r))
    raise AssertionError(query)


@pytest.mark.parametrize(("cls", "steps", "query", "reply"), [
    (Keithley2450, k2450_configure(), ":SENS:FUNC?", '"VOLT:DC"'),
    (Keithley2450, k2450_configure(), ":SENS:CURR:AZER?", "1"),
    (Keithley2400, k2400_configure(), ":FORM:ELEM?", "VOLT,CURR,RES,TIME,STAT"),
    (Keithley2400, k2400_configure(), ":SENS:CURR:PROT?", "+1.050000E-04"),
    (KeysightB2902, b2902_configure(), ":SOUR2:FUNC:MODE?", "CURR"),
    (KeysightB2902, b2902_configure(), ":TRIG1:TRAN:SOUR?", "BUS"),
])
async def test_a_mode_that_does_not_read_back_fails_the_connect(cls: type, steps: list[Step], query: str,
                                                                reply: str) -> None:
    t = Scripted(_replace(steps, query, reply))
    with pytest.raises(InstrumentError, match=rf"^smu: {query.replace('?', '[?]')} reads back"):
        await cls("smu", t, LIM).configure()
    t.done()


async def test_the_connect_transcripts_pass_as_the_manuals_answer() -> None:
    for cls, steps in ((Keithley2450, k2450_configure()), (Keithley2400, k2400_configure()),
                       (KeysightB2902, b2902_configure())):
        t = Scripted(steps)
        await cls("smu", t, LIM).configure()
        t.done()


@pytest.mark.parametrize("reply", ["", "2", "ON", "maybe"])
async def test_an_unexpected_trip_reply_names_the_instrument_and_command(reply: str) -> None:
    t = Scripted([(":SOUR:VOLT:ILIM:TRIP?", reply)])
    with pytest.raises(InstrumentError, match=r"smu: unexpected reply .* to ':SOUR:VOLT:ILIM:TRIP\?'"):
        await Keithley2450("smu", t, LIM).limit_tripped()


async def test_an_opc_reply_other_than_1_is_an_error() -> None:
    t = Scripted([("*OPC?", "0")])
    with pytest.raises(InstrumentError, match=r"smu: unexpected reply '0' to '\*OPC\?'"):
        await Keithley2400("smu", t, LIM).sync()


async def test_b2902_arm_status_must_be_a_register() -> None:
    t = Scripted(b2902_configure())
    smu = KeysightB2902("smu", t, LIM)
    await smu.configure()
    t.pairs.append((":SOUR1:FUNC:SHAP PULS;:TRIG1:SOUR EXT1;:SOUR1:PULS:WIDT 0.0001;:SOUR1:VOLT:TRIG 1;:OUTP1 ON;"
                    ":INIT (@1);:STAT:OPER:COND?", "2.5"))
    with pytest.raises(InstrumentError, match=r"smu: unexpected reply .* to ':STAT:OPER:COND\?'"):
        await smu.arm({1: 1.0}, 1e-4)
