"""read_map, inference, iv_sweep, retention, endurance, forming over the physics (test-local access)."""

from __future__ import annotations

import numpy as np
import pytest

from labctl.core import (
    CellOutcome,
    ConfigError,
    InferenceRecord,
    MapRecord,
    PulseRecord,
    ReadRecord,
    ResultRecord,
    SafetyLimits,
)
from protocols import REGISTRY, ListSink
from sim_instruments import NonIdealities
from tests.protocols.simaccess import SimAccess


async def _run(name: str, access: SimAccess, **raw: object) -> tuple[dict[str, object], ListSink]:
    spec = REGISTRY[name]
    sink = ListSink()
    return await spec.run(access, spec.parse(raw), sink), sink


def _levels(access: SimAccess) -> np.ndarray:
    rng = np.random.default_rng(0)
    gaps = rng.uniform(0.9e-9, 1.5e-9, (access.rows, access.cols))
    access.xbar.array.gap = gaps
    return np.asarray(access.xbar.array.conductance(0.1))


def test_registry_names() -> None:
    assert set(REGISTRY) == {"forming", "program", "read_map", "inference", "iv_sweep", "retention", "endurance",
                             "pulse_train", "scan"}
    for spec in REGISTRY.values():
        assert spec.params_model.model_config.get("extra") == "forbid"


async def test_read_map_matches_physics_and_flags_outliers_within_clamp() -> None:
    access = SimAccess(6, 5, nonideal=NonIdealities(read_noise=0.005))
    g = _levels(access)
    summary, sink = await _run("read_map", access, repeats=5, read_voltage=0.2)
    (m,) = sink.of(MapRecord)
    assert np.allclose(m.conductance, np.asarray(access.xbar.array.conductance(0.2)), rtol=0.02)
    assert not np.allclose(m.conductance, g, rtol=0.02)  # chord conductance depends on the read voltage
    assert len(sink.of(ReadRecord)) == 6 * 5 * 5
    assert {r.kind for r in sink.of(ReadRecord)} == {"map"}
    assert access.xbar.peak_read_voltage.max() <= 0.2 + 1e-12
    assert access.xbar.peak_pulse_voltage.max() == 0
    assert summary["cells"] == 30


def test_robust_mean_drops_outlier() -> None:
    from protocols.read_map import robust_mean

    s = np.array([[1.0, 2.0], [1.01, 2.0], [0.99, 2.0], [5.0, 2.0]])
    mean, _, n = robust_mean(s, 5.0, 0.02)
    assert mean[0] == pytest.approx(1.0)
    assert list(n) == [1, 0]


async def test_inference_single_ended_and_differential_within_clamp() -> None:
    access = SimAccess(4, 4)
    g = _levels(access)
    x = [[1.0, -0.5, 0.25, 0.0], [0.0, 1.0, -1.0, 0.5]]
    _, sink = await _run("inference", access, inputs=x, input_volts=0.1)
    (res,) = sink.of(ResultRecord)
    # physics: I = I0 exp(-g/g0) sinh(V/V0); at 0.1 V, G(V) ~ G(0.1); check against a linear estimate
    expected = np.asarray(x) * 0.1 @ g
    assert np.allclose(res.data["outputs"], expected, rtol=0.05, atol=1e-9)
    _, sink = await _run("inference", access, inputs=x, input_volts=0.1, pairs=[(0, 1), (2, 3)])
    out = sink.of(ResultRecord)[0].data["outputs"]
    assert np.allclose(out[:, 0], expected[:, 0] - expected[:, 1], rtol=0.05, atol=1e-9)
    assert all(max(abs(v) for v in r.row_volts) <= 0.1 for r in sink.of(InferenceRecord))
    assert access.xbar.peak_read_voltage.max() <= 0.1 + 1e-12
    with pytest.raises(ConfigError, match="input_volts"):
        await _run("inference", SimAccess(2, 2, limits=SafetyLimits(read_clamp=0.05)), inputs=[[1, 1]])
    with pytest.raises(ConfigError, match="inputs"):
        await _run("inference", access, inputs=[[2.0, 0, 0, 0]])


async def test_iv_sweep_shows_set_and_reset() -> None:
    access = SimAccess(2, 2)
    access.xbar.array.gap = np.full((2, 2), 1.7e-9)
    _, sink = await _run("iv_sweep", access, v_max=1.6, v_min=1.6, step=0.1)
    (res,) = sink.of(ResultRecord)
    v, g = np.asarray(res.data["volts"]), np.asarray(res.data["conductance"])
    assert v.max() == pytest.approx(1.6)
    assert v.min() == pytest.approx(-1.6)
    peak = int(np.argmax(v))
    assert g[peak] > 100 * g[0]  # SET on the way up
    assert g[-1] < g[peak] / 100  # RESET on the negative branch


async def test_endurance_and_retention() -> None:
    access = SimAccess(2, 2)
    summary, sink = await _run("endurance", access, cycles=4)
    assert summary["failed_cycles"] == 0
    assert summary["median_ratio"] > 100
    assert len(sink.of(PulseRecord)) == 8
    summary, sink = await _run("retention", access, region=(0, 1, 0, 2), interval=0.5, duration=2.0)
    (res,) = sink.of(ResultRecord)
    assert np.allclose(res.data["t"], [0, 0.5, 1.0, 1.5, 2.0], atol=1e-4)  # virtual bench time
    assert summary["max_rel_drift"] < 0.01


async def test_forming_ramps_until_threshold() -> None:
    access = SimAccess(2, 3)
    access.xbar.array.gap = np.full((2, 3), 1.7e-9)
    summary, sink = await _run("forming", access, g_formed=100e-6, v_start=1.0, v_step=0.1, v_max=2.0, width=1e-5)
    outs = sink.of(CellOutcome)
    assert summary["formed"] == 6
    assert all(o.conductance >= 100e-6 and o.pulses >= 4 for o in outs)  # 1.0..1.3 V cannot SET from HRS
    v_first_switch = [p.volts for p in sink.of(PulseRecord) if p.row == 0 and p.col == 0][-1]
    assert 1.35 <= v_first_switch <= 1.55
