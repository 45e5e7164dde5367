"""Weight <-> conductance mappings, target and measured map files."""

from __future__ import annotations

import numpy as np
import pytest

from labctl.core.errors import ConfigError
from labctl.train import (
    SEED_WINDOW,
    ConductanceWindow,
    MeasuredMap,
    TargetMap,
    binary_to_conductance,
    conductance_to_binary,
    conductance_to_differential,
    conductance_to_quantized,
    differential_to_conductance,
    load_measured_map,
    load_target_map,
    quantized_to_conductance,
)

WIN = ConductanceWindow(g_off=5e-6, g_on=150e-6, read_voltage=0.2)


def test_binary_round_trip_and_levels() -> None:
    w = np.array([[-0.3, 0.0, 2.0], [1e-9, -1e-9, 5.0]])
    g = binary_to_conductance(w, WIN)
    assert set(np.unique(g)) == {WIN.g_off, WIN.g_on}
    assert np.array_equal(conductance_to_binary(g, WIN), np.where(w > 0, 1.0, -1.0))


def test_differential_round_trip_one_device_at_g_off() -> None:
    w = np.random.default_rng(0).uniform(-2, 2, (5, 3))
    g, k = differential_to_conductance(w, WIN)
    assert g.shape == (5, 6)
    assert np.isclose(g.max(), WIN.g_on)
    assert g.min() >= WIN.g_off
    assert np.all(np.minimum(g[:, 0::2], g[:, 1::2]) == WIN.g_off)
    assert np.allclose(conductance_to_differential(g, k), w)
    with pytest.raises(ConfigError, match="weights"):
        differential_to_conductance(w, WIN, w_max=1.0)


def test_quantized_levels_in_window() -> None:
    w = np.linspace(-1, 1, 41).reshape(1, -1)
    g, m = quantized_to_conductance(w, WIN, levels=5)
    assert len(np.unique(g)) == 5
    assert g.min() == WIN.g_off
    assert np.isclose(g.max(), WIN.g_on)
    back = conductance_to_quantized(g, WIN, levels=5, w_max=m)
    assert np.max(np.abs(back - w)) <= 0.25 + 1e-12  # half a level step (2/4/2)
    assert np.allclose(conductance_to_quantized(g, WIN, 5, m), back)  # idempotent


def test_window_validation_names_field() -> None:
    with pytest.raises(ConfigError, match="g_on"):
        ConductanceWindow(g_off=1e-5, g_on=1e-6)
    with pytest.raises(ConfigError, match="g_off"):
        ConductanceWindow(g_off=-1.0, g_on=1e-6)


def test_target_map_npz_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    t = np.full((3, 4), 1e-5)
    mask = np.eye(3, 4, dtype=bool)
    tm = TargetMap("fc1", t, "differential", WIN, mask, "interleaved_pairs", {"output": {"kind": "inv_amp"}})
    path = tm.save(tmp_path)
    with np.load(path) as z:
        assert set(z.files) == {"targets", "mask"}
        assert z["targets"].dtype == np.float64
    back = load_target_map(path)
    assert back.layer == "fc1"
    assert back.window == WIN
    assert back.read_voltage == 0.2
    assert np.array_equal(back.mask, mask)
    assert np.array_equal(back.targets, t)
    with pytest.raises(ConfigError, match="targets"):
        TargetMap("x", np.full((2, 2), 1.0), "binary", WIN)


def test_measured_map_strings_and_codes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    g = np.array([[1e-5, 2e-5], [3e-5, 4e-5]])
    np.savez(tmp_path / "fc1.npz", conductance=g, status=np.array([["converged", "stuck"], ["failed", "converged"]]),
             read_voltage=0.1)
    m = load_measured_map(tmp_path / "fc1.npz", run_id="r7")
    assert m.layer == "fc1"
    assert m.run_id == "r7"
    assert m.read_voltage == 0.1
    assert m.counts() == {"converged": 2, "failed": 1, "stuck": 1, "pending": 0}
    assert np.array_equal(m.usable, [[True, False], [False, True]])
    p = m.save(tmp_path / "again.npz")
    again = load_measured_map(p)
    assert again.layer == "fc1"
    assert again.run_id == "r7"
    assert np.array_equal(again.status, m.status)
    with pytest.raises(ConfigError, match="status"):
        MeasuredMap("x", g, np.array([["ok", "stuck"], ["x", "y"]]), 0.1)


def test_seed_window_values() -> None:
    assert SEED_WINDOW.g_on == 7.7e-5
    assert SEED_WINDOW.g_off == 2.88e-6
