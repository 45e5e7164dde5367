"""Virgin cells and electroforming: insulating until the forming voltage, filament strength set by the
compliance, over-forming (stuck ON, no RESET) above the over-form current, unformed cells stuck OFF."""

from __future__ import annotations

import numpy as np
import pytest

from labctl.core.errors import ConfigError
from sim_instruments import Crossbar, NonIdealities, RRAMArray
from sim_instruments.presets import STANFORD_V1

NI = NonIdealities(virgin=1.0)


def fresh(shape=(3, 3), seed=1, **kw):
    return RRAMArray(shape, STANFORD_V1, seed=seed, nonideal=NonIdealities(virgin=1.0, **kw))


def ramp_cell(xb, icc, v_max=3.5, row=0, col=0):
    """Ramp one cell (V/3 scheme) until it forms; returns the amplitude that formed it (None if none did)."""
    n_r, n_c = xb.shape
    xb.set_line_limits([icc] * n_r, [None] * n_c)
    for v in np.arange(1.0, v_max + 1e-9, 0.05):
        rows, cols = [v / 3] * n_r, [2 * v / 3] * n_c
        rows[row], cols[col] = float(v), 0.0
        xb.pulse(rows, cols, 1e-4)
        if not xb.array.virgin[row, col]:
            return float(v)
    return None


def test_virgin_cells_conduct_nanoamps_and_do_not_switch():
    a = fresh()
    assert a.virgin.all()
    i_read = np.asarray(a.current(0.1))
    assert np.all((i_read > 1e-11) & (i_read < 1e-9))  # sub-nA at a 0.1 V read
    xb = Crossbar(a)
    before = np.asarray(a.conductance(0.1)).copy()
    xb.pulse([1.5, 1.5, 1.5], [0.0, 0.0, 0.0], 1e-3)  # a SET pulse far above V_SET does nothing to a virgin cell
    np.testing.assert_array_equal(np.asarray(a.conductance(0.1)), before)


def test_forming_voltage_and_strength_follow_the_compliance():
    for icc, n in ((1e-5, 0), (1e-4, 1)):
        a = fresh(seed=4)
        xb = Crossbar(a)
        v = ramp_cell(xb, icc)
        assert v is not None
        assert a.v_form[0, 0] <= v < a.v_form[0, 0] + 0.05 + 1e-9  # formed at the first step past its V_form
        g = float(np.asarray(a.conductance(0.1))[0, 0])
        # small-signal conductance I_cc / form_v_knee (chord at 0.1 V is sinh(0.4)/0.4 = 1.027 times it)
        assert g == pytest.approx(icc / NI.form_v_knee * np.sinh(0.4) / 0.4, rel=1e-6), n
        assert not a.overformed[0, 0]
        assert a.virgin.sum() == 8  # the half-selected cells stayed virgin (V/3 < their forming voltage)


def test_overformed_cell_is_stuck_on_and_does_not_reset():
    a = fresh(seed=4)
    xb = Crossbar(a)
    assert ramp_cell(xb, 2e-3) is not None  # compliance above overform_current (0.5 mA)
    assert a.overformed[0, 0]
    assert a.stuck_on[0, 0]
    xb.set_line_limits([None] * 3, [None] * 3)
    xb.pulse([-1.8, -0.6, -0.6], [0.0, -1.2, -1.2], 1e-3)  # a hard RESET
    assert float(np.asarray(a.gap)[0, 0]) == STANFORD_V1.gap_min
    # a normally formed cell does RESET under the same pulse
    b = fresh(seed=4)
    xb2 = Crossbar(b)
    ramp_cell(xb2, 1e-4)
    xb2.set_line_limits([None] * 3, [None] * 3)  # the same unlimited RESET (a 100 uA limit would hold it back)
    xb2.pulse([-1.8, -0.6, -0.6], [0.0, -1.2, -1.2], 1e-3)
    assert float(np.asarray(b.gap)[0, 0]) > 1.2e-9


def test_cells_beyond_the_maximum_voltage_stay_virgin_stuck_off():
    a = fresh(seed=4, form_v_mean=3.4, form_v_std=0.01)
    xb = Crossbar(a)
    assert ramp_cell(xb, 1e-4, v_max=3.0) is None
    assert a.virgin[0, 0]
    assert float(np.asarray(a.conductance(0.1))[0, 0]) < 1e-8


def test_forming_under_wire_resistance_and_config_validation():
    a = fresh(seed=4)
    xb = Crossbar(a, r_row=2.5, r_col=2.5, r_contact=2.5)
    assert ramp_cell(xb, 1e-4) is not None
    with pytest.raises(ConfigError, match="virgin"):
        NonIdealities(virgin=1.5)
    with pytest.raises(ConfigError, match="overform_current"):
        NonIdealities(overform_current=0.0)
