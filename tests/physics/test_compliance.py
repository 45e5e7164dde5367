"""A source in compliance during a pulse: the cell's current is held at the limit while the gap moves, so a
compliance-limited SET stops at an intermediate state instead of running away to gap_min (the lab's way to set
the LRS). And the initial state of a chip delivered formed and RESET."""

from __future__ import annotations

import numpy as np
import pytest

from labctl.core.errors import ConfigError
from sim_instruments import Crossbar, NonIdealities, RRAMArray
from sim_instruments.physics._cells import current, limited_voltage
from sim_instruments.presets import STANFORD_V1


def set_one_cell(icc: float | None, volts: float = 1.8, width: float = 1e-4) -> RRAMArray:
    """A 2x2 ideal-lined array, all cells OFF; one V/2 SET pulse on cell (0, 0) with the row's source limited."""
    a = RRAMArray((2, 2), STANFORD_V1, seed=3, nonideal=NonIdealities(initial_state="hrs"))
    xb = Crossbar(a)
    if icc is not None:
        xb.set_line_limits([icc, None], [None, None])
    xb.pulse([volts, volts / 2], [0.0, volts / 2], width)
    return a


def test_limited_voltage_holds_the_current_at_the_limit():
    a = RRAMArray((1, 3), STANFORD_V1, seed=1)
    g = np.array([STANFORD_V1.gap_min, 1.0e-9, STANFORD_V1.gap_max])
    v = np.full(3, 1.8)
    icc = np.full(3, 1e-4)
    vl = limited_voltage(a.cells, a.xp, g, v, icc)
    i = current(a.cells, a.xp, g, vl)
    free = current(a.cells, a.xp, g, v)
    for k in range(3):
        if free[k] > 1e-4:
            assert i[k] == pytest.approx(1e-4, rel=1e-9)
            assert 0 < vl[k] < 1.8
        else:
            assert vl[k] == 1.8
    assert np.all(limited_voltage(a.cells, a.xp, g, -v, icc) == -vl)  # both polarities


def test_unlimited_set_runs_to_full_lrs_a_limited_one_stops_in_between():
    free = float(np.asarray(set_one_cell(None).conductance(0.1))[0, 0])
    low = float(np.asarray(set_one_cell(1e-3).conductance(0.1))[0, 0])
    mid = float(np.asarray(set_one_cell(3e-3).conductance(0.1))[0, 0])
    held = float(np.asarray(set_one_cell(1e-4).conductance(0.1))[0, 0])
    off = float(np.asarray(RRAMArray((2, 2), STANFORD_V1, nonideal=NonIdealities(initial_state="hrs"))
                           .conductance(0.1))[0, 0])
    assert free > 1e-3  # runaway to gap_min: ~1.7 mS
    assert off * 2 < low < mid < free / 5  # switched, but held by the limit; a higher limit sets further
    # an OFF cell already draws ~0.75 mA at 1.8 V (sinh I-V): 100 uA folds the pulse below the SET threshold
    assert held == pytest.approx(off, rel=1e-9)
    a = set_one_cell(1e-3)
    g_other = np.asarray(a.conductance(0.1))
    assert g_other[1, 1] == pytest.approx(off, rel=1e-12)  # the unselected cell (0 V) did not move


def test_a_limit_no_cell_can_reach_changes_nothing():
    free = set_one_cell(None)
    loose = set_one_cell(1.0)  # 1 A: above any cell's current at 1.8 V
    assert np.array_equal(np.asarray(free.gap), np.asarray(loose.gap))


def test_limited_set_stops_where_the_current_meets_the_limit():
    a = set_one_cell(1e-3, volts=2.0)
    i_full = float(np.asarray(a.current(np.full((2, 2), 2.0)))[0, 0])
    i_read = float(np.asarray(a.current(np.full((2, 2), 0.1)))[0, 0])
    assert i_full > 1e-3  # at the full 2.0 V it would draw more than the limit: it was held there
    assert i_read < 1e-3 * 0.1  # and it is far from full LRS (~0.17 mA at 0.1 V)


def test_initial_state_off_starts_formed_cells_at_gap_max_and_stuck_cells_pinned():
    ni = NonIdealities(initial_state="hrs", stuck_on=0.1, stuck_off=0.1)
    a = RRAMArray((16, 16), STANFORD_V1, seed=5, nonideal=ni)
    gap = np.asarray(a.gap)
    free = ~(a.stuck_on | a.stuck_off)
    assert np.all(gap[free] == STANFORD_V1.gap_max)
    assert np.all(gap[a.stuck_on] == STANFORD_V1.gap_min)
    on = RRAMArray((16, 16), STANFORD_V1, seed=5, nonideal=NonIdealities(stuck_on=0.1, stuck_off=0.1))
    assert np.all(np.asarray(on.gap)[free] == STANFORD_V1.gap_min)  # the default: the model's initial state


def test_initial_state_is_validated():
    with pytest.raises(ConfigError, match="initial_state"):
        NonIdealities(initial_state="off")
