"""StanfordParams validation, presets and the closed forms of reference §1.8, §2.2 and §6."""

from __future__ import annotations

import math

import pytest

from labctl.core.errors import ConfigError
from sim_instruments import NonIdealities, RRAMArray, StanfordParams
from sim_instruments.presets import IITM_2024, STANFORD_V1

P = STANFORD_V1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"g0": -1e-10}, "g0"),
        ({"I0": 0.0}, "I0"),
        ({"gap_min": 2e-9, "gap_max": 1e-9}, "gap_min"),
        ({"Rth": -1.0}, "Rth"),
        ({"noise_step": -1e-9}, "noise_step"),
        ({"tox": float("nan")}, "tox"),
        ({"beta_reset": 1e6}, "beta_reset"),
    ],
)
def test_bad_params_name_the_field(changes, field):
    with pytest.raises(ConfigError) as err:
        P.with_(**changes)
    assert err.value.field == field
    assert field in str(err.value)


def test_bad_backend_and_nonideal_and_shape():
    with pytest.raises(ConfigError, match="backend"):
        RRAMArray((2, 2), P, backend="jax")
    with pytest.raises(ConfigError, match="stuck_on"):
        NonIdealities(stuck_on=1.5)
    with pytest.raises(ConfigError, match="d2d_fields"):
        NonIdealities(d2d_fields=("tox",))
    with pytest.raises(ConfigError, match="shape"):
        RRAMArray((0, 3), P)
    with pytest.raises(ConfigError, match="duration"):
        RRAMArray(1, P).apply(1.0, -1e-9)
    with pytest.raises(ConfigError, match="gap"):
        RRAMArray(1, P).gap = 5e-9


def test_presets_cite_sources_and_are_frozen():
    assert "10.4231/D37H1DN48" in STANFORD_V1.source
    assert "IIT Madras" in IITM_2024.source
    with pytest.raises(AttributeError):
        STANFORD_V1.g0 = 1.0  # type: ignore[misc]
    assert StanfordParams() == STANFORD_V1


def test_gate_thresholds_closed_forms():  # §1.8
    assert P.threshold_voltage(1.7e-9, +1) == pytest.approx(1.392, abs=5e-4)
    assert P.threshold_voltage(0.2e-9, -1) == pytest.approx(1.050, abs=5e-4)
    assert P.F_min * P.tox / P.gamma0_set == pytest.approx(1.05)


@pytest.mark.parametrize(("v", "g_nm"), [(1.1, 0.969), (1.2, 1.357), (1.3, 1.567), (1.392, 1.7)])
def test_reset_self_limit(v, g_nm):  # §1.8
    assert P.reset_limit(-v) * 1e9 == pytest.approx(g_nm, abs=1.5e-3)


def test_read_path_derived_quantities():  # §2.2 and §4.2
    g_on, g_off = P.conductance(2e-10), P.conductance(17e-10)
    assert g_on == pytest.approx(1.8456e-3, rel=1e-4)
    assert g_off == pytest.approx(4.5749e-6, rel=1e-4)
    assert 1 / g_on == pytest.approx(541.8, rel=1e-4)
    assert 1 / g_off == pytest.approx(218586, rel=1e-4)
    assert g_on / g_off == pytest.approx(403.4, rel=1e-3)
    for v, ratio in [(0.05, 1.0067), (0.1, 1.0269), (0.15, 1.0611), (0.2, 1.1101), (0.5, 1.8134)]:
        small = P.I0 / P.V0 * math.exp(-2e-10 / P.g0)
        assert P.conductance(2e-10, v) / small == pytest.approx(ratio, abs=1e-4)
    assert P.current(5e-10, 0.2) / P.current(5e-10, 0.1) == pytest.approx(2.162, abs=1e-3)
    assert P.conductance(1e-9, 0.15) / P.conductance(1e-9, 0.1) == pytest.approx(1.0333, abs=1e-4)
    assert P.conductance(1e-9, 0.2) / P.conductance(1e-9, 0.1) == pytest.approx(1.0811, abs=1e-4)
    for v, i in [(1.05, 15.0e-3), (1.3, 40.7e-3), (1.5, 90.6e-3), (1.8, 0.301), (2.0, 0.669)]:
        assert P.current(2e-10, v) == pytest.approx(i, rel=2e-3)
    assert P.gap_for_conductance(P.conductance(1.1e-9)) == pytest.approx(1.1e-9)


def test_array_temperature_closed_form():  # §2.2, §4.6: T = T0 + |VI| Rth
    a = RRAMArray(1, P)
    for v, t in [(-1.05, 331.0), (-1.3, 409.0), (-1.5, 584.0)]:
        assert float(a.temperature(v)[0]) == pytest.approx(t, abs=1.0)
    assert float(a.temperature(-1.3)[0]) == pytest.approx(298 + 1.3 * P.current(2e-10, 1.3) * 2.1e3)


def test_iitm_reconstruction():  # §6
    p = IITM_2024
    assert p.conductance(0.2e-9) == pytest.approx(7.793e-5, rel=2e-3)
    assert p.conductance(3.3e-9) == pytest.approx(2.880e-6, rel=2e-3)
    assert p.conductance(0.2e-9) / p.conductance(3.3e-9) == pytest.approx(27.1, rel=3e-3)
    assert p.gap_for_conductance(7.7e-5) == pytest.approx(0.211e-9, rel=5e-3)
    assert p.threshold_voltage(3.3e-9, +1) == pytest.approx(1.231, abs=1e-3)
    assert p.threshold_voltage(0.2e-9, -1) == pytest.approx(0.647, abs=1e-3)
    assert p.F_min * p.tox / p.gamma0_set == pytest.approx(0.56)
    assert p.conductance(0.2e-9, 0.15) == pytest.approx(8.16e-5, rel=3e-3)
    assert p.conductance(3.3e-9, 0.15) == pytest.approx(3.02e-6, rel=3e-3)
    # RESET self-limit at -1.5 V lies beyond 3.3 nm (4.36 nm unclipped)
    unclipped = p.g1 * ((p.gamma0_reset - p.F_min * p.tox / 1.5) / p.beta_reset) ** (1 / p.alpha)
    assert unclipped * 1e9 == pytest.approx(4.36, abs=0.01)
    assert p.reset_limit(-1.5) == p.gap_max
