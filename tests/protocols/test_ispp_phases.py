"""The ISPP rules added for multi-level programming with short pulses (``protocols._ispp``): per-polarity widths,
the coarse RESET phase and the hold rule; unset, the rules are those the 2600B script mirrors."""

from __future__ import annotations

import pytest

from labctl.core.records import CellStatus
from protocols import REGISTRY
from protocols._ispp import CellProgram, CoarseReset

SPEC = REGISTRY["program"]
S = SPEC.parse({"random_levels": 2, "reset_start": 1.1, "reset_step": 0.01}).settings()  # type: ignore[attr-defined]
COARSE = CoarseReset(above=300e-6, start=1.0, step=0.02, width=50e-6)


def test_each_polarity_starts_from_its_own_width() -> None:
    cp = CellProgram(0, 0, 50e-6, S, widths={1: 50e-6, -1: 50e-9})
    assert cp.observe(5e-6) == (pytest.approx(S.set_start), 50e-6)  # below the band: SET, SMU width
    assert cp.observe(2e-3) == (pytest.approx(-S.reset_start), 50e-9)  # overshot: RESET, generator width
    assert cp.reversals == 1


def test_coarse_reset_until_the_cell_leaves_lrs_then_fine_pulses_without_a_reversal() -> None:
    cp = CellProgram(0, 0, 50e-6, S, widths={1: 50e-6, -1: 50e-9}, coarse=COARSE)
    assert cp.observe(2e-3) == (pytest.approx(-1.0), 50e-6)
    assert cp.observe(2e-3) == (pytest.approx(-1.02), 50e-6)  # fell short: one coarse step up
    assert cp.observe(200e-6) == (pytest.approx(-1.1), 50e-9)  # below 300 µS: fine RESET from reset_start
    assert cp.reversals == 0
    assert cp.observe(150e-6) == (pytest.approx(-1.11), 50e-9)  # no hold: every shortfall steps
    assert cp.observe(30e-6) == (pytest.approx(S.set_start), S.width)  # overshot: SET back (a reversal)
    assert cp.reversals == 1
    # SET overshoots to LRS again: the coarse phase restarts one step below the amplitude that last worked
    assert cp.observe(2e-3) == (pytest.approx(-1.0), 50e-6)  # max(start, 1.02 - 0.02)
    assert cp.observe(200e-6)[1] == 50e-9
    assert cp.observe(50e-6) is None
    assert cp.status is CellStatus.CONVERGED


def test_coarse_overshoot_lowers_the_next_coarse_amplitude() -> None:
    cp = CellProgram(0, 0, 50e-6, S, coarse=COARSE)
    assert cp.observe(2e-3)[0] == pytest.approx(-1.0)
    assert cp.observe(20e-6)[0] > 0  # a coarse pulse went straight below the band: SET back
    assert cp.observe(2e-3)[0] == pytest.approx(-0.98)  # one coarse step below the amplitude that overshot


def test_hold_repeats_a_fine_amplitude_while_it_moves_the_cell() -> None:
    cp = CellProgram(0, 0, 50e-6, S, widths={-1: 50e-9}, hold=0.03)
    assert cp.observe(200e-6)[0] == pytest.approx(-1.1)
    assert cp.observe(150e-6)[0] == pytest.approx(-1.1)  # moved 25 %: same amplitude
    assert cp.observe(120e-6)[0] == pytest.approx(-1.1)  # 20 %
    assert cp.observe(118e-6)[0] == pytest.approx(-1.11)  # under 3 %: stalled, one step up
    assert cp.observe(90e-6)[0] == pytest.approx(-1.11)
    assert cp.observe(51e-6) is None
    assert cp.pulses == 5


async def test_erase_pulses_groups_of_pending_cells_and_never_a_verified_one() -> None:
    from labctl.core import CellOutcome, PulseRecord
    from protocols import ListSink
    from tests.protocols.simaccess import SimAccess

    resume = {(1, 4): CellOutcome(1, 4, CellStatus.CONVERGED, 100e-6, 101e-6, 3)}
    sink = ListSink()
    params = SPEC.parse({"random_levels": 2, "erase_volts": 1.5, "erase_cells": 3, "max_pulses": 3})
    await SPEC.run(SimAccess(2, 8), params, sink, resume=resume)
    pulses = [r for r in sink.records if isinstance(r, PulseRecord)]
    erase = [p for p in pulses if p.scheme == "grounded"]
    assert all(p.volts == -1.5 and p.width == params.erase_width for p in erase)
    groups: dict[tuple[int, float], list[int]] = {}
    for p in erase:
        groups.setdefault((p.row, p.t), []).append(p.col)
    assert sorted(groups.values()) == [[0, 1, 2], [0, 1, 2], [3, 4, 5], [3, 5, 6], [6, 7], [7]]
    assert pulses.index(erase[-1]) == len(erase) - 1  # every erase comes before any programming pulse
    assert not [p for p in pulses if (p.row, p.col) == (1, 4)]


async def test_erase_all_covers_the_cells_around_a_block() -> None:
    from labctl.core import PulseRecord
    from protocols import ListSink
    from tests.protocols.simaccess import SimAccess

    for erase_all, want in ((False, {(0, c) for c in range(3)}), (True, {(r, c) for r in range(2) for c in range(8)})):
        sink = ListSink()
        params = SPEC.parse({"random_levels": 2, "shape": [1, 3], "erase_volts": 1.5, "erase_all": erase_all,
                             "max_pulses": 2})
        await SPEC.run(SimAccess(2, 8), params, sink)
        erased = {(p.row, p.col) for p in sink.records if isinstance(p, PulseRecord) and p.scheme == "grounded"}
        assert erased == want
