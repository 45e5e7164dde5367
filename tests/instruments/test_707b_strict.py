"""The 707B driver parses its replies strictly: an unexpected reply names the instrument and the command."""

from __future__ import annotations

import pytest

from instruments import Keithley707B, SourceLimits
from labctl.core import InstrumentError, SafetyLimits
from tests.instruments.scripted import Scripted

LIM = SourceLimits.of(SafetyLimits(max_program_voltage=3.0, read_clamp=0.2, compliance=1e-3,
                                   min_pulse_width=5e-5, max_pulse_width=1e-2))


async def test_unexpected_replies_name_the_instrument_and_the_command() -> None:
    t = Scripted([
        ('print(channel.getclose("allslots"))', "1A01;2B01"),
        ('print(channel.getclose("allslots"))', "1A01,2B01"),
        ("print(errorqueue.count)", "nil"),
    ])
    m = Keithley707B("k7", t, LIM, cards=2, outputs_per_card=12, inputs=8)
    assert await m.closed() == frozenset({(1, 1), (2, 13)})
    with pytest.raises(InstrumentError,
                       match=r"""k7: unexpected reply '1A01,2B01' to 'print\(channel.getclose\("allslots"\)\)'"""):
        await m.closed()
    with pytest.raises(InstrumentError, match=r"k7: unexpected reply 'nil' to 'print\(errorqueue.count\)'"):
        await m.errors()
    t.done()
