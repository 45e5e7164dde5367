"""Crossbar: driven and floating lines, KCL, half-select disturb, read clamp and peak records."""

from __future__ import annotations

import numpy as np
import pytest

from labctl.core.errors import ConfigError
from sim_instruments import Crossbar, RRAMArray
from sim_instruments.physics.kcl import LEAK
from sim_instruments.presets import IITM_2024, STANFORD_V1

READ_CLAMP_V1 = 0.3  # V, the read clamp chosen for STANFORD_V1 (gate needs >= 1.05 V)
READ_CLAMP_IITM = 0.2  # V, for IITM_2024 (gate needs >= 0.56 V)


def xbar(params=STANFORD_V1, shape=(8, 8), seed=0, **kw):
    a = RRAMArray(shape, params, seed=seed, **kw)
    a.gap = np.random.default_rng(seed).uniform(params.gap_min, params.gap_max, shape)
    return Crossbar(a)


def half_lines(n, sel, v, level):
    lines = [level] * n
    lines[sel] = v
    return lines


def test_driven_read_currents_match_cells():
    xb = xbar()
    rows = [0.0] * 8
    rows[2] = 0.2
    r, c = xb.read(rows, [0.0] * 8)
    cell = np.asarray(xb.array.current(0.2))[2]
    np.testing.assert_allclose(-c, cell, rtol=1e-12)
    assert r[2] == pytest.approx(cell.sum())
    assert r.sum() == pytest.approx(-c.sum(), rel=1e-12)


def test_floating_lines_obey_kcl_and_sneak_paths():
    xb = xbar(shape=(6, 7))
    xb.array.gap = np.full((6, 7), 2e-10)  # all LRS: strong sneak paths
    rows = [None] * 6
    rows[1] = 0.2
    cols = [None] * 7
    cols[3] = 0.0
    r, c = xb.read(rows, cols)
    vr, vc = xb.last_line_voltages
    scale = abs(r[1])
    for i in range(6):
        if i != 1:
            assert abs(r[i]) <= 1e-9 * scale + 1e-6 * LEAK  # KCL at every floating row
    for j in range(7):
        if j != 3:
            assert abs(c[j]) <= 1e-9 * scale + 1e-6 * LEAK
    assert r.sum() == pytest.approx(-c.sum(), rel=1e-9, abs=1e-15)
    assert 0.0 < vr[0] < 0.2  # floating lines settle between the driven ones
    assert 0.0 < vc[0] < 0.2
    direct = float(xb.array.current(0.2)[1, 3])
    assert r[1] > 1.5 * direct  # sneak paths add current through the floating lines
    assert c[3] == pytest.approx(-r[1], rel=1e-9)


def test_floating_kcl_against_independent_solver():
    from scipy.optimize import fsolve

    xb = xbar(shape=(3, 3), seed=2)
    rows, cols = [0.3, None, 0.0], [None, 0.0, None]
    vr, vc = np.array([0.3, 0, 0.0]), np.array([0.0, 0.0, 0.0])
    p = STANFORD_V1
    g = np.asarray(xb.array.gap)

    def f(u):
        vr[1], vc[0], vc[2] = u
        i = p.I0 * np.exp(-g / p.g0) * np.sinh(np.subtract.outer(vr, vc) / p.V0)
        return [i[1].sum(), i[:, 0].sum(), i[:, 2].sum()]

    u = fsolve(f, [0.1, 0.1, 0.1], xtol=1e-13)
    _r, _c = xb.read(rows, cols)
    got_r, got_c = xb.last_line_voltages
    np.testing.assert_allclose([got_r[1], got_c[0], got_c[2]], u, atol=1e-9)


def test_half_select_disturb_comes_from_the_equations():
    # IITM preset: V/2 = 0.75 V exceeds the 0.56 V gate onset for LRS cells -> real disturb; V/3 = 0.5 V does not
    p = IITM_2024
    for scheme, expect_disturb in (("half", True), ("third", False)):
        a = RRAMArray((4, 4), p)
        a.gap = np.full((4, 4), p.gap_min)
        xb = Crossbar(a)
        v = -1.5  # RESET the selected cell (0, 0)
        if scheme == "half":
            rows, cols = half_lines(4, 0, v, v / 2), half_lines(4, 0, 0.0, v / 2)
        else:
            rows, cols = half_lines(4, 0, v, v / 3), half_lines(4, 0, 0.0, 2 * v / 3)
        xb.pulse(rows, cols, 100e-6)
        g = np.asarray(a.gap)
        assert g[0, 0] == pytest.approx(p.gap_max)
        half_selected = np.r_[g[0, 1:], g[1:, 0]]
        if expect_disturb:
            assert np.all(half_selected > p.gap_min * 1.5)
            assert np.all(half_selected <= p.reset_limit(v / 2) * (1 + 1e-9))
        else:
            np.testing.assert_array_equal(half_selected, p.gap_min)
        np.testing.assert_array_equal(g[1:, 1:], p.gap_min)  # unselected cells see 0 V (V/2) or -V/3 ... untouched
    # default preset: V/2 at 2.0 V write is immune (|V/2| = 1.0 V < 1.05 V)
    xb = xbar(shape=(4, 4))
    before = np.asarray(xb.array.gap).copy()
    xb.pulse(half_lines(4, 1, 2.0, 1.0), half_lines(4, 2, 0.0, 1.0), 1e-3)
    after = np.asarray(xb.array.gap)
    assert after[1, 2] == pytest.approx(STANFORD_V1.gap_min)
    mask = np.ones((4, 4), bool)
    mask[1, 2] = False
    np.testing.assert_array_equal(after[mask], before[mask])
    assert xb.peak_pulse_voltage[1, 2] == 2.0
    assert xb.peak_pulse_voltage[1, 0] == 1.0


@pytest.mark.parametrize(("params", "clamp"), [(STANFORD_V1, READ_CLAMP_V1), (IITM_2024, READ_CLAMP_IITM)])
def test_no_read_disturb_at_clamp(params, clamp):
    xb = xbar(params, shape=(8, 8), seed=4)
    before = np.asarray(xb.array.gap).copy()
    for i in range(8):
        xb.read(half_lines(8, i, clamp, 0.0), [0.0] * 8, duration=1.0)
        xb.read(half_lines(8, i, -clamp, 0.0), [0.0] * 8, duration=1.0)
        xb.read(half_lines(8, i, clamp, None), [None if j % 2 else 0.0 for j in range(8)], duration=0.1)
    np.testing.assert_array_equal(np.asarray(xb.array.gap), before)
    assert xb.peak_read_voltage.max() <= clamp + 1e-12
    assert xb.peak_pulse_voltage.max() == 0.0
    xb.reset_peaks()
    assert xb.peak_read_voltage.max() == 0.0


def test_floating_pulse_sneak_disturb_and_timing():
    # a SET pulse with the other lines floating on an all-LRS-but-one array: the selected cell still SETs
    p = STANFORD_V1
    a = RRAMArray((3, 3), p)
    g = np.full((3, 3), p.gap_max)
    a.gap = g
    xb = Crossbar(a)
    xb.pulse([1.6, None, None], [0.0, None, None], 200e-9)
    out = np.asarray(a.gap)
    assert out[0, 0] == pytest.approx(p.gap_min)  # 1.6 V selected: t_SET = 55.6 ns
    assert xb.peak_pulse_voltage[0, 0] == pytest.approx(1.6)
    assert xb.peak_pulse_voltage[1, 1] < 1.0
    assert np.all(out[1:, 1:] == p.gap_max)


def test_bad_lines_rejected():
    xb = xbar(shape=(2, 3))
    with pytest.raises(ConfigError, match="rows"):
        xb.read([0.1], [0.0, 0.0, 0.0])
    with pytest.raises(ConfigError, match="width"):
        xb.pulse([0.1, 0.0], [0.0] * 3, 0.0)
    with pytest.raises(ConfigError, match="shape"):
        Crossbar(RRAMArray(4, STANFORD_V1))


def test_shape_idle_and_time():
    xb = xbar(shape=(2, 3))
    assert xb.shape == (2, 3)
    xb.pulse([1.0, 0.0], [0.0] * 3, 1e-6)
    xb.idle(2.0)
    assert xb.time == pytest.approx(2.0 + 1e-6)
