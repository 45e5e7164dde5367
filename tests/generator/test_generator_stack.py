"""Short pulses through the whole stack (driver, matrix, generator simulator, physics) are the physics' pulses:
a 20 ns, -1.3 V RESET train gives the same gaps as the same trapezoids applied to the physics directly; gradual
RESET with 20 ns pulses visits the intermediate states a 50 µs pulse overshoots; the program protocol uses the
generator for short pulses and the SMU for verify reads; limits refuse what the generator cannot do."""

from __future__ import annotations

import asyncio
import itertools
import math
from typing import Any

import numpy as np
import pytest
import yaml

from labctl.bench import CONFIGS, open_bench
from labctl.core.config import BenchConfig, parse_bench_config
from labctl.core.errors import ConfigError, LimitError
from labctl.core.records import CellOutcome
from protocols import REGISTRY, ListSink
from sim_instruments.bench import build_crossbars
from sim_instruments.physics import Trapezoid, apply_shaped_pulse, loaded_levels

BASE = yaml.safe_load((CONFIGS / "sim_bench_generator.yaml").read_text())
MID_GAP = 0.83e-9  # m: about 150 µS at 0.1 V, a cell SET with a limiting compliance (between LRS and HRS)


def _precondition(xbar: Any) -> None:
    """Put every cell in the same intermediate state on both sides of a comparison."""
    xbar.array.gap = np.full(xbar.shape, MID_GAP)


def _config(rows: int = 8, cols: int = 8, deterministic: bool = False, **sim: Any) -> BenchConfig:
    data = yaml.safe_load(yaml.safe_dump(BASE))
    data["crossbars"]["xbar0"].update(rows=rows, cols=cols)
    if deterministic:  # no noise, no relaxation: every difference would come from the stack
        data["sim"]["nonideal"] = {"d2d": 0.05}
    data["sim"].update(sim)
    return parse_bench_config(data)


def test_rest_train_through_the_stack_equals_the_physics() -> None:
    cfg = _config(deterministic=True)
    row, col, n = 2, 5, 12
    shape = Trapezoid(20e-9, 8.4e-9, 8.4e-9)

    async def stack() -> np.ndarray:
        async with open_bench(cfg) as b:
            assert b.simulation is not None
            _precondition(b.simulation.crossbars["xbar0"])
            xb = b.crossbars["xbar0"]
            for _ in range(n):
                await xb.pulse(row, [col], -1.3, 20e-9)
            assert await b.instruments["awg0"].errors() == []
            assert b.simulation is not None
            return np.array(b.simulation.crossbars["xbar0"].array.gap, copy=True)

    gaps = asyncio.run(stack())
    # the physics alone: same chip (seed), same line conditions, same trapezoids, sources behind 50 ohm
    xbar = build_crossbars(cfg)["xbar0"]
    _precondition(xbar)
    rows_idle: list[float | None] = [0.0] * 8
    cols_idle: list[float | None] = [0.0] * 8
    others_r, others_c = np.array([i for i in range(8) if i != row]), np.array([j for j in range(8) if j != col])
    for _ in range(n):
        drivers = {"ch1": (np.array([row]), np.array([], dtype=int), -1.3), "ch2": (others_r, others_c, -0.65)}
        lv = loaded_levels(xbar, rows_idle, [0.0] * 8, drivers, 50.0)
        rows_peak = [lv["ch1"] if i == row else lv["ch2"] for i in range(8)]
        cols_peak = [0.0 if j == col else lv["ch2"] for j in range(8)]
        apply_shaped_pulse(xbar, (rows_idle, cols_idle), (rows_peak, cols_peak), shape)
    direct = np.asarray(xbar.array.gap)
    assert gaps[row, col] > MID_GAP + 1e-10  # the selected cell RESET (its gap grew)
    assert np.abs(np.delete(gaps.ravel(), row * 8 + col) - MID_GAP).max() < 0.2 * 1e-10  # the others barely
    np.testing.assert_allclose(gaps, direct, rtol=1e-9, atol=0)


def test_edge_staircase_matches_a_finely_resolved_ramp() -> None:
    cfg = _config(rows=1, cols=1, deterministic=True)
    coarse, fine = build_crossbars(cfg)["xbar0"], build_crossbars(cfg)["xbar0"]
    g0 = float(np.asarray(coarse.array.gap)[0, 0])
    for xbar, steps in ((coarse, 16), (fine, 512)):
        for _ in range(5):
            apply_shaped_pulse(xbar, ([0.0], [0.0]), ([-1.3], [0.0]), Trapezoid(20e-9, 8.4e-9, 8.4e-9, steps))
    d_coarse = float(np.asarray(coarse.array.gap)[0, 0]) - g0
    d_fine = float(np.asarray(fine.array.gap)[0, 0]) - g0
    assert d_fine > 0
    assert d_coarse == pytest.approx(d_fine, rel=0.01)
    # and the edges matter: an ideal 20 ns rectangle moves the gap by a different amount
    rect = build_crossbars(cfg)["xbar0"]
    for _ in range(5):
        rect.pulse([-1.3], [0.0], 20e-9)
    assert abs((float(np.asarray(rect.array.gap)[0, 0]) - g0) - d_fine) > 0.02 * d_fine


def test_short_pulses_reach_states_a_long_pulse_overshoots() -> None:
    cfg = _config(deterministic=True)

    async def run() -> tuple[float, list[float]]:
        async with open_bench(cfg) as b:
            assert b.simulation is not None
            _precondition(b.simulation.crossbars["xbar0"])
            xb = b.crossbars["xbar0"]
            await xb.pulse(1, [1], -1.3, 50e-6)  # the B2902's shortest pulse
            g_long = (await xb.read(1, [1], 0.1))[0].current / 0.1
            steps = []
            for _ in range(25):
                await xb.pulse(4, [4], -1.3, 20e-9)  # the generator's
                steps.append((await xb.read(4, [4], 0.1))[0].current / 0.1)
            return g_long, steps

    g_long, steps = asyncio.run(run())
    assert g_long < 30e-6  # one 50 µs pulse goes most of the way to the self-limited floor
    inside = [g for g in steps if 1.2 * g_long <= g <= 100e-6]
    assert len(inside) >= 5  # states between 100 µS and where the long pulse landed, which it jumped over
    assert all(a >= b for a, b in itertools.pairwise(steps))  # gradual: monotone down


def test_program_uses_the_generator_for_pulses_and_the_smu_for_reads() -> None:
    cfg = _config(rows=4, cols=4)
    spec = REGISTRY["program"]
    params = spec.parse({"random_levels": 4, "level_min": 20e-6, "level_max": 80e-6, "seed": 3, "width": 2e-8,
                         "width_max": 1.6e-7, "set_start": 1.6, "set_cap": 2.5, "reset_start": 1.15,
                         "reset_cap": 2.5, "reset_step": 0.01, "max_pulses": 400, "rel_tol": 0.05})

    async def run() -> tuple[list[Any], dict[str, int]]:
        async with open_bench(cfg) as b:
            assert b.simulation is not None
            _precondition(b.simulation.crossbars["xbar0"])
            xb = b.crossbars["xbar0"]
            sink = ListSink()
            await spec.run(xb, params, sink)
            return sink.records, dict(xb.counts)

    records, counts = asyncio.run(run())
    outcomes = [r for r in records if isinstance(r, CellOutcome)]
    assert len(outcomes) == 16
    assert sum(o.status == "converged" for o in outcomes) >= 14
    pulses = [r for r in records if type(r).__name__ == "PulseRecord"]
    assert pulses
    assert all(p.width < 50e-6 for p in pulses)
    assert all(math.isnan(p.current) for p in pulses)  # the generator measures nothing
    assert counts["read"] >= 16


def test_limits_of_the_generator_are_checked_before_sending() -> None:
    cfg = _config()

    async def run() -> None:
        async with open_bench(cfg) as b:
            xb = b.crossbars["xbar0"]
            with pytest.raises(LimitError, match="width"):
                await xb.pulse(0, [0], -1.3, 1e-8)  # below the bench minimum (16 ns)
            awg = b.instruments["awg0"]
            with pytest.raises(LimitError, match="edge"):
                awg.check_pulse({1: 1.0}, 20e-9, 5e-9)
            with pytest.raises(LimitError, match="edge"):
                awg.check_pulse({1: 1.0}, 20e-9, 15e-9)  # > 0.625 x width
            with pytest.raises(ConfigError, match="generator"):
                await xb.pulse(0, [0], -1.3, 20e-9, "v/3")

    asyncio.run(run())


def test_config_refuses_what_a_generator_cannot_do() -> None:
    data = yaml.safe_load(yaml.safe_dump(BASE))
    data["limits"]["compliance"] = 0.05  # 3.5 V behind 50 ohm can deliver 70 mA
    with pytest.raises(ConfigError, match=r"awg0.*cannot limit its current.*max_voltage <= 2\.5 V"):
        parse_bench_config(data)
    data = yaml.safe_load(yaml.safe_dump(BASE))
    data["crossbars"]["xbar0"]["wiring"]["inputs"][0]["roles"] = ["pulse"]  # an SMU as the pulse source
    with pytest.raises(ConfigError, match="need a function generator"):
        parse_bench_config(data)
    data = yaml.safe_load(yaml.safe_dump(BASE))
    data["crossbars"]["xbar0"]["wiring"]["inputs"][2]["roles"] = ["drive"]  # a generator cannot read
    with pytest.raises(ConfigError, match="generator cannot read"):
        parse_bench_config(data)
