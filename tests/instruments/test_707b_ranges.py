"""The 707B driver's compact channel lists (ranges per slot and row), checked against the simulator's parser."""

from __future__ import annotations

import random

from instruments import Keithley707B, SourceLimits
from labctl.core import SafetyLimits
from sim_instruments.devices.k707b import Sim707B
from tests.instruments.scripted import Scripted


def test_channel_ranges_name_exactly_the_points_and_stay_short() -> None:
    m = Keithley707B("k7", Scripted([]), SourceLimits.of(SafetyLimits()), cards=6, outputs_per_card=12, inputs=8)
    full = [(2, c) for c in range(1, 73) if c != 30] + [(5, 30)]
    text = m.channel_ranges(full)
    assert text == ("1B01:1B12,2B01:2B12,3B01:3B05,3B07:3B12,3E06,4B01:4B12,5B01:5B12,6B01:6B12")
    parse = Sim707B._parse.__get__(type("S", (), {"slots": 6, "per_slot": 12})())  # the simulator's list parser
    rng = random.Random(3)
    for _ in range(50):
        pts = {(rng.randint(1, 8), rng.randint(1, 72)) for _ in range(rng.randint(1, 60))}
        assert set(parse(m.channel_ranges(sorted(pts)))) == pts
    assert m.channel_ranges([]) == ""
