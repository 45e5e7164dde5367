"""Transcripts of the driver queries the hil checks rely on: identity match, source-limit and output read-backs."""

from __future__ import annotations

import pytest

from instruments import Keithley2450, KeysightB2201A, KeysightB2902, SourceLimits
from labctl.core.errors import InstrumentError
from labctl.core.limits import SafetyLimits
from tests.instruments.scripted import Scripted

LIMITS = SourceLimits.of(SafetyLimits(compliance=0.01))


def test_identity_problem_names_both_models() -> None:
    drv = Keithley2450("smu", Scripted([]), LIMITS)  # type: ignore[arg-type]
    assert drv.identity_problem("KEITHLEY INSTRUMENTS INC.,MODEL 2450,04400001,1.7.3b") is None
    msg = drv.identity_problem("Keysight Technologies,B2902A,MY1,3.4")
    assert msg is not None
    assert "B2902A" in msg
    assert "2450" in msg
    assert msg.startswith("smu:")
    assert "not 'maker,model,serial,firmware'" in (drv.identity_problem("hello") or "")
    mat = KeysightB2201A("m", Scripted([]), LIMITS)  # type: ignore[arg-type]
    assert mat.identity_problem("Agilent Technologies,B2201A,MY1,1.0") is None


async def test_source_limit_and_output_state_transcripts() -> None:
    t = Scripted([(":SENS2:CURR:PROT?", "+1.000000E-02"), (":OUTP2?", "0"), (":OUTP1?", "1")])
    drv = KeysightB2902("smu", t, LIMITS)  # type: ignore[arg-type]
    assert await drv.source_limit(2) == pytest.approx(0.01)
    assert await drv.output_state(2) is False
    assert await drv.output_state(1) is True
    t.done()
    k = Scripted([(":SOUR:VOLT:ILIM?", "+1.050000E-04"), (":OUTP?", "ON")])
    drv2 = Keithley2450("k", k, LIMITS)  # type: ignore[arg-type]
    assert await drv2.source_limit() == pytest.approx(1.05e-4)
    with pytest.raises(InstrumentError, match=r"k: unexpected reply 'ON' to ':OUTP\?'"):
        await drv2.output_state()
