"""Device LUTs from the simulated bench: the pulse_train protocol, its CSV, the binning rules, LUT training."""

from __future__ import annotations

import asyncio
import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from labctl.bench import open_bench
from labctl.core.errors import ConfigError
from labctl.jobs.protocol_run import run_protocol
from labctl.store import RunStore
from labctl.train.datasets import load_breast_cancer
from labctl.train.lut import BENCH_CSV, build_luts_from_csv, train_lut

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[2]


def _pulse_csv_module():  # benchmarks/ is a folder of scripts, not a package
    spec = importlib.util.spec_from_file_location("pulse_csv", ROOT / "benchmarks" / "pulse_csv.py")
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def train_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    root = tmp_path_factory.mktemp("pt")
    params = {"cells": [[0, 1], [5, 9]], "cycles": 2, "set_pulses": 3, "reset_pulses": 30}

    async def go() -> str:
        async with open_bench(ROOT / "configs" / "sim_bench.yaml", transport="inproc") as b:
            res = await run_protocol(None, "pulse_train", params, store_root=root, bench=b)
        assert res.status == "completed"
        assert res.run_id
        return res.run_id

    rid = asyncio.run(go())
    data = dict(RunStore(root).results(rid))["pulse_train"]
    out = root / "pulses.csv"
    _pulse_csv_module().write_csv(out, data, rid)
    return data, out


def test_pulse_train_on_the_bench_measures_abrupt_set_and_gradual_reset(train_run) -> None:
    data, _ = train_run
    g = np.asarray(data["conductance"])
    volts = np.asarray(data["volts"])
    assert g.shape == (2, 2, 33)
    assert list(volts[:3]) == pytest.approx([1.3, 1.4, 1.5])
    assert volts[3] == pytest.approx(-1.0)
    assert np.all(np.diff(volts[3:]) < 0)  # the RESET ramp grows in magnitude
    # STANFORD_V1: the SET train ends in the low-resistance state (> 1 mS), the RESET ramp walks down in steps
    assert np.all(g[:, :, 2] > 1e-3)
    down = g[:, :, 3:]
    assert np.all(down[:, :, -1] < 0.05 * g[:, :, 2])
    steps = np.diff(down, axis=2)
    assert (steps < 0).mean() > 0.6
    moved = down[:, :, :-1] > 2 * down[:, :, -1:]  # above the floor: no single step takes more than 90 % of G
    assert np.all(np.abs(steps[moved]) < 0.9 * down[:, :, :-1][moved])


def test_csv_rows_follow_the_run(train_run) -> None:
    data, path = train_run
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * 2 * 33
    assert {r["device"] for r in rows} == {"r0c1", "r5c9"}
    first = [r for r in rows if r["device"] == "r5c9"][:4]
    assert [r["polarity"] for r in first] == ["set", "set", "set", "reset"]
    assert float(first[3]["conductance"]) == pytest.approx(float(np.asarray(data["conductance"])[1, 0, 3]), rel=1e-6)


def test_committed_bench_tables_pick_the_depress_scheme_with_populated_bins() -> None:
    pooled, devices = build_luts_from_csv(BENCH_CSV, min_samples=8)
    assert len(devices) == 16
    assert pooled.abrupt_set()  # the physics' SET is abrupt: depression-only updates
    # quantile bins with merging: every bin of both directions holds >= min_samples pulses
    n_set, _n_reset = pooled.counts
    assert pooled.up.shape[0] < 50
    assert n_set >= 8 * pooled.up.shape[0]
    # the window is the gradual RESET region, far below the LRS the SET reaches
    assert 1e-6 < pooled.g_min < 5e-6 < 2e-5 < pooled.g_max < 2e-4
    assert pooled.up[pooled.up_edges[:-1] < pooled.g_max].max() > 1e-3
    # RESET steps grow with G (multiplicative, nonlinear response)
    hi = pooled.bin_of(np.array([pooled.g_max]), False)[0]
    lo = pooled.bin_of(np.array([pooled.g_min + 0.1 * pooled.span]), False)[0]
    assert pooled.step_at(np.array([pooled.down_edges[hi]]), False)[0] > 3 * pooled.step_at(
        np.array([pooled.down_edges[lo]]), False)[0]


def test_sparse_bins_merge_and_devices_fall_back_to_the_pooled_table(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    rng = np.random.default_rng(0)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["device", "pulse", "polarity", "conductance"])
        for d in range(2):
            g = 50e-6
            k = 0
            for _ in range(6):
                for _ in range(20):  # gradual both ways
                    g = g * (0.95 + 0.01 * rng.standard_normal())
                    w.writerow([f"d{d}", k, "reset", g])
                    k += 1
                pulses = 20 if d == 0 else 1  # d1 has too few SET pulses for its own table
                for _ in range(pulses):
                    g = g * (1.05 + 0.01 * rng.standard_normal())
                    w.writerow([f"d{d}", k, "set", g])
                    k += 1
    pooled, devices = build_luts_from_csv(path, n_bins=50, min_samples=10, binning="linear")
    n_set, _ = pooled.counts
    assert n_set == 6 * 20 + 6 * 1
    assert 2 <= pooled.up.shape[0] <= n_set // 10  # sparse linear bins merged: >= 10 pulses per bin
    assert not pooled.abrupt_set()
    assert devices[1].up is pooled.up  # fallback for d1's SET table
    assert devices[0].up is not pooled.up
    with pytest.raises(ConfigError, match="binning"):
        build_luts_from_csv(path, binning="cubic")
    with pytest.raises(ConfigError, match="set"):
        build_luts_from_csv(path, min_samples=10_000)


def test_lut_training_on_bench_tables_learns_with_refreshes() -> None:
    pooled, devices = build_luts_from_csv(BENCH_CSV)
    ds = load_breast_cancer()
    r = train_lut(ds, pooled, devices, mode="standard", epochs=5, seed=0)
    assert r.scheme == "depress"
    assert r.refreshes > 0
    assert r.test_acc > 0.9
    m = train_lut(ds, pooled, devices, mode="multi", epochs=2, seed=1)
    assert m.scheme == "depress"
    assert m.test_acc > 0.8
    with pytest.raises(ConfigError, match="scheme"):
        train_lut(ds, pooled, devices, scheme="sideways")
    with pytest.raises(ConfigError, match="select"):
        train_lut(ds, pooled, devices, select="test_acc")
