"""Non-idealities: each one changes the result; seeds reproduce; noise off is deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from sim_instruments import Crossbar, NonIdealities, RRAMArray
from sim_instruments.presets import STANFORD_V1

P = STANFORD_V1
SHAPE = (8, 8)


def program_and_read(ni=None, seed=1, params=P):
    """SET half the array with 1.5 V / 100 ns, RESET the rest with -1.2 V / 200 ns, wait, read at 0.1 V."""
    a = RRAMArray(SHAPE, params, seed=seed, nonideal=ni)
    a.gap = np.full(SHAPE, params.gap_max)
    v = np.where(np.arange(64).reshape(SHAPE) % 2 == 0, 1.5, 0.0)
    a.apply(v, 150e-9)
    a.apply(np.where(v == 0, -1.2, 0.0), 200e-9)
    a.idle(1.0)
    xb = Crossbar(a)
    cols = np.zeros(8)
    currents = np.array([xb.read(list(np.eye(8)[i] * 0.1), list(cols))[1] for i in range(8)])
    return np.asarray(a.gap).copy(), -currents


def test_deterministic_without_noise():
    g1, i1 = program_and_read(seed=1)
    g2, i2 = program_and_read(seed=2)
    np.testing.assert_array_equal(g1, g2)
    np.testing.assert_array_equal(i1, i2)


@pytest.mark.parametrize(
    "ni",
    [
        NonIdealities(d2d=0.05),
        NonIdealities(c2c=True),
        NonIdealities(read_noise=0.02),
        NonIdealities(relaxation=2e-11),
        NonIdealities(stuck_on=0.2),
        NonIdealities(stuck_off=0.2),
        NonIdealities(ambient_T=340.0),
    ],
    ids=["d2d", "c2c", "read_noise", "relaxation", "stuck_on", "stuck_off", "ambient_T"],
)
def test_each_nonideality_changes_the_result_and_reproduces(ni):
    _base_g, base_i = program_and_read()
    g, i = program_and_read(ni)
    assert not np.allclose(i, base_i, rtol=1e-6, atol=0)
    g2, i2 = program_and_read(ni)  # same seed, same run
    np.testing.assert_array_equal(g, g2)
    np.testing.assert_array_equal(i, i2)
    if ni.any_noise:
        _g3, i3 = program_and_read(ni, seed=7)
        assert not np.array_equal(i, i3)
    assert float(g.min()) >= P.gap_min
    assert float(g.max()) <= P.gap_max


def test_stuck_cells_stay_stuck():
    a = RRAMArray((20, 20), P, seed=3, nonideal=NonIdealities(stuck_on=0.1, stuck_off=0.1))
    assert 10 < a.stuck_on.sum() < 80
    assert not np.any(a.stuck_on & a.stuck_off)
    a.gap = np.full((20, 20), 1e-9)
    a.apply(-2.0, 1e-6)
    g = np.asarray(a.gap)
    assert np.all(g[a.stuck_on] == P.gap_min)
    assert np.all(g[~a.stuck_on] == P.gap_max)


def test_c2c_noise_statistics():  # §4.8: zero mean, std = delta_g0 f(T) sqrt(t h_n) (per step h_n: δ0g f h_n)
    p = P.with_(delta_g0=1e-4, noise_step=1e-6)
    n = 4000
    a = RRAMArray(n, p, seed=11, nonideal=NonIdealities(c2c=True))
    g_start = 0.9e-9
    a.gap = np.full(n, g_start)
    v = 0.3  # below the gate: only the stochastic term acts
    a.apply(v, 1e-6)  # one noise step
    d = np.asarray(a.gap) - g_start
    temp = float(np.asarray(a.temperature(v))[0])
    f = 1 / (1 + np.exp((p.T_crit - temp) / p.T_smth))
    sigma = p.delta_g0 * f * 1e-6
    assert d.std() == pytest.approx(sigma, rel=0.05)
    assert abs(d.mean()) < 4 * sigma / np.sqrt(n)
    b = RRAMArray(n, p, seed=11, nonideal=NonIdealities(c2c=True))
    b.gap = np.full(n, g_start)
    b.apply(v, 16e-6)  # accumulated over 16 noise steps: sqrt(t h_n)
    assert (np.asarray(b.gap) - g_start).std() == pytest.approx(sigma * 4, rel=0.05)
    zero = RRAMArray(n, p.with_(delta_g0=0.0), seed=11, nonideal=NonIdealities(c2c=True))
    zero.gap = np.full(n, g_start)
    zero.apply(1.3, 1e-6)
    off = RRAMArray(n, p, seed=11)
    off.gap = np.full(n, g_start)
    off.apply(1.3, 1e-6)
    np.testing.assert_array_equal(zero.gap, off.gap)  # delta_g0 = 0 is identical to noise off


def test_c2c_at_zero_bias_random_walks_when_idle():
    p = P.with_(delta_g0=1e-4, noise_step=1e-6)
    quiet = RRAMArray(50, p, seed=1, nonideal=NonIdealities(c2c=True))
    quiet.gap = np.full(50, 1e-9)
    quiet.idle(1e-3)
    assert np.all(np.asarray(quiet.gap) == 1e-9)
    walk = RRAMArray(50, p, seed=1, nonideal=NonIdealities(c2c=True, c2c_at_zero_bias=True))
    walk.gap = np.full(50, 1e-9)
    walk.idle(1e-3)
    assert np.std(np.asarray(walk.gap)) > 0


def test_relaxation_depends_on_time_since_pulse():
    ni = NonIdealities(relaxation=1e-11, relaxation_tau=1e-3)
    a = RRAMArray(2, P, nonideal=ni)
    a.gap = np.array([5e-10, 5e-10])
    a.apply(np.array([-1.2, 0.0]), 1e-9)  # cell 0 programmed now; cell 1 untouched (old)
    a.idle(1e-3)  # cell 1 has aged since construction only by 1 ns: both young here
    g_prog = float(a.gap[0])
    a.idle(10.0)
    drift = float(a.gap[0]) - g_prog
    assert drift == pytest.approx(1e-11 * (np.log1p(10.001 / 1e-3) - np.log1p(1.0)), rel=1e-3)
    assert float(a.age[0]) == pytest.approx(10.001, rel=1e-6)
    b = RRAMArray(1, P, nonideal=ni)
    b.gap = 5e-10
    b.idle(1.0)
    g_old = float(b.gap[0])
    b.idle(10.0)
    assert float(b.gap[0]) - g_old < drift  # drift slows with time since the last pulse


def test_ambient_temperature_speeds_reset():
    cold = RRAMArray(1, P, nonideal=NonIdealities(ambient_T=280.0))
    hot = RRAMArray(1, P, nonideal=NonIdealities(ambient_T=340.0))
    for a in (cold, hot):
        a.gap = 2e-10
        a.apply(-1.3, 30e-9)
    assert float(hot.gap[0]) > float(cold.gap[0])


def test_c2c_switching_only_spares_sub_threshold_reads_but_not_switching():
    p = P.with_(delta_g0=1e-4, noise_step=1e-6)
    gated = NonIdealities(c2c=True, c2c_switching_only=True)
    read = RRAMArray(200, p, seed=4, nonideal=gated)
    read.gap = np.full(200, 1.2e-9)
    read.apply(0.3, 1e-3)  # a long read at the clamp: the F_min gate is closed, the state must not move
    assert np.all(np.asarray(read.gap) == 1.2e-9)
    ungated = RRAMArray(200, p, seed=4, nonideal=NonIdealities(c2c=True))
    ungated.gap = np.full(200, 1.2e-9)
    ungated.apply(0.3, 1e-3)
    assert np.std(np.asarray(ungated.gap)) > 0  # the v1.0.0-style term random-walks the same read
    reset_noisy = RRAMArray(200, p, seed=4, nonideal=gated)
    reset_noisy.gap = np.full(200, 0.5e-9)
    reset_noisy.apply(-1.2, 1e-7)  # a RESET pulse opens the gate: cycle-to-cycle spread appears
    reset_clean = RRAMArray(200, p, seed=4)
    reset_clean.gap = np.full(200, 0.5e-9)
    reset_clean.apply(-1.2, 1e-7)
    assert np.std(np.asarray(reset_noisy.gap)) > 1e-13
    assert np.ptp(np.asarray(reset_clean.gap)) == 0


def test_c2c_switching_only_conflicts_with_zero_bias_noise():
    from labctl.core import ConfigError

    with pytest.raises(ConfigError, match="c2c_switching_only"):
        NonIdealities(c2c=True, c2c_at_zero_bias=True, c2c_switching_only=True)
