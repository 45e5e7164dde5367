"""The simulated SMU in compliance folds its voltage back (reads and pulses), and a read whose current cannot
reach the limit (the bound that skips the fold) measures the same current as the physics."""

from __future__ import annotations

import numpy as np
import pytest

from labctl.bench import DEFAULT_CONFIG
from labctl.core.config import load_bench_config
from sim_instruments.bench import SimBench
from sim_instruments.physics import StanfordParams
from sim_instruments.presets import PRESETS

DRIVE = ("smu0", 1)


def _row_read_bench(gap: float) -> SimBench:
    """Row 0 on smu0 ch1 (matrix input 1), every column grounded (input 5); the rest floating. Rows are outputs
    1-64 and columns 65-128 of the three mainframes numbered on (48 outputs each)."""
    bench = SimBench(load_bench_config(DEFAULT_CONFIG))
    bench.crossbars["xbar0"].array.gap = np.full((64, 64), gap)
    bench.switch("matrix0a", [(1, 1)], close=True)
    bench.switch("matrix0b", [(5, 17 + j) for j in range(32)], close=True)
    bench.switch("matrix0c", [(5, 1 + j) for j in range(32)], close=True)
    return bench


def _expected(bench: SimBench, volts: float) -> float:
    arr = bench.crossbars["xbar0"].array
    v = np.zeros((64, 64))
    v[0, :] = volts  # row 0 at volts, its cells' columns grounded; other rows float at ~0 (all columns at 0)
    return float(np.asarray(arr.current(v))[0].sum())


@pytest.mark.parametrize("gap_name", ["gap_min", "gap_max"])
def test_read_current_matches_physics_below_compliance(gap_name: str) -> None:
    bench = _row_read_bench(getattr(_params(), gap_name))  # LRS: the fold is evaluated; HRS: the bound skips it
    src = bench.sources[DRIVE]
    src.on, src.level, src.limit = True, 0.1, 1.0
    expected = _expected(bench, 0.1)
    got = bench.measure(DRIVE)
    assert got == pytest.approx(expected, rel=0.05)  # 1 % read noise
    assert not src.tripped


@pytest.mark.parametrize("gap_name", ["gap_min", "gap_max"])
def test_read_in_compliance_folds_back_to_the_limit(gap_name: str) -> None:
    bench = _row_read_bench(getattr(_params(), gap_name))
    src = bench.sources[DRIVE]
    limit = 0.2 * _expected(bench, 0.3)
    src.on, src.level, src.limit = True, 0.3, limit
    got = bench.measure(DRIVE)
    assert src.tripped
    assert abs(got) == pytest.approx(limit, rel=0.05)
    assert float(bench.crossbars["xbar0"].peak_read_voltage[0].max()) < 0.3  # the cells saw the folded level


def _params() -> StanfordParams:
    return PRESETS["stanford_v1"]
