"""The SET limit of a row (program's set_compliance / set_headroom): the load plus the headroom, learned from
pulses that did not switch their cell, growing from the headroom alone while the load is unknown."""

from __future__ import annotations

import pytest

from labctl.core.records import PulseRecord
from protocols._set_limit import RowLoad


def rec(current: float) -> list[PulseRecord]:
    return [PulseRecord(0, 3, 1.0, 1e-4, 0.0, current, "v/2")]


def test_fixed_limit_and_no_limit_on_reset() -> None:
    fixed = RowLoad(5e-3, None)
    assert fixed.limit(1.5) == 5e-3
    assert fixed.limit(-1.5) is None
    assert RowLoad(None, None).limit(1.5) is None


def test_limit_is_the_measured_load_scaled_plus_headroom_capped() -> None:
    row = RowLoad(20e-3, 1e-3)
    assert row.limit(1.2) == pytest.approx(1e-3)  # load unknown: the headroom alone
    row.seen(3, 5e-6)  # the verify read before the pulse
    row.pulsed([3], 1.2, rec(1e-3), row.limit(1.2))  # folded at the limit: counts as load
    row.seen(3, 5.2e-6)  # did not switch
    assert row.limit(1.2) == pytest.approx(2e-3)  # grows by the headroom per pulse
    row.pulsed([3], 1.2, rec(4e-3), row.limit(1.2))
    row.seen(3, 5.1e-6)
    assert row.limit(1.5) == pytest.approx(4e-3 * 1.5 / 1.2 + 1e-3)  # scaled to the new amplitude
    row.pulsed([3], 1.5, rec(6e-3), row.limit(1.5))
    row.seen(3, 80e-6)  # switched: the current was the cell's, not the load
    assert row.limit(1.5) == pytest.approx(4e-3 * 1.5 / 1.2 + 1e-3)
    row.load = (1.0, 50e-3)
    assert row.limit(1.0) == 20e-3  # never above set_compliance


def test_headroom_needs_a_compliance() -> None:
    from protocols.program import ProgramParams

    with pytest.raises(ValueError, match="set_headroom needs set_compliance"):
        ProgramParams(random_levels=2, set_headroom=1e-3)


def test_tracked_headroom_follows_where_limited_sets_land() -> None:
    band = (54e-6, 77e-6, 100e-6)
    row = RowLoad(20e-3, 1e-3, track=True)
    row.seen(3, 5e-6, band)
    row.load = (2.0, 2e-3)
    assert row.limit(2.0) == pytest.approx(3e-3)
    row.pulsed([3], 2.0, rec(3e-3), row.limit(2.0))  # ran in compliance
    row.seen(3, 154e-6, band)  # switched, landed at twice the target: half the headroom
    assert row.limit(2.0) == pytest.approx(2e-3 + 0.5e-3)
    row.seen(3, 5e-6, band)  # a RESET read: nothing learned
    row.pulsed([3], 2.0, rec(2.5e-3), row.limit(2.0))
    row.seen(3, 70e-6, band)  # in band: unchanged
    assert row.limit(2.0) == pytest.approx(2.5e-3)
    row.seen(4, 5e-6, band)
    row.pulsed([4], 2.0, rec(2.5e-3), row.limit(2.0))
    row.seen(4, 40e-6, band)  # switched, landed below the band: more headroom
    assert row.limit(2.0) == pytest.approx(2e-3 + 0.5e-3 * 77 / 40)
    for _ in range(10):  # bounded below
        row.seen(3, 5e-6, band)
        row.pulsed([3], 2.0, rec(3e-3), row.limit(2.0))
        row.seen(3, 2e-3, band)
    assert row.scale == pytest.approx(RowLoad.RANGE[0])


def test_untracked_headroom_stays() -> None:
    band = (54e-6, 77e-6, 100e-6)
    row = RowLoad(20e-3, 1e-3)
    row.seen(3, 5e-6, band)
    row.load = (2.0, 2e-3)
    row.pulsed([3], 2.0, rec(3e-3), row.limit(2.0))
    row.seen(3, 154e-6, band)
    assert row.limit(2.0) == pytest.approx(3e-3)
