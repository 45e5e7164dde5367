"""Gradual RESET with 20-100 ns generator pulses reaches the intermediate states a 50 µs pulse of the same amplitude
overshoots, through the whole stack and from a cell prepared as the multi-level scheme prepares it (erased, SET and
brought out of LRS by coarse 50 µs RESET pulses on the B2902), not from a preconditioned gap."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
import yaml

from labctl.bench import CONFIGS, open_bench
from labctl.core.config import parse_bench_config

AMP = -1.2  # V: a 50 µs pulse at this amplitude self-limits near 18 µS


def _config() -> Any:
    data = yaml.safe_load((CONFIGS / "sim_bench_generator.yaml").read_text())
    data["crossbars"]["xbar0"].update(rows=4, cols=4)
    for inst in data["instruments"].values():  # simulators starved of CPU on a loaded test host must not time out
        inst["timeout"] = 20.0
    data["sim"]["nonideal"] = {"d2d": 0.05}  # no read or cycle noise: monotone means monotone
    return parse_bench_config(data)


async def _g(xb: Any, row: int, col: int) -> float:
    return float((await xb.read(row, [col], 0.1))[0].current / 0.1)


async def _prepare(xb: Any, row: int, col: int) -> float:
    """SET on the SMU (ramped), then coarse 50 µs RESET pulses until the cell is below 300 µS; its conductance."""
    volts = 1.3
    while await _g(xb, row, col) < 1e-3:  # SET is abrupt: straight to LRS once it switches
        await xb.pulse(row, [col], volts, 50e-6)
        volts += 0.05
        assert volts < 2.0
    amp = 1.0
    while (g := await _g(xb, row, col)) > 300e-6:
        await xb.pulse(row, [col], -amp, 50e-6)
        amp += 0.02
        assert amp < 1.3
    return g


@pytest.mark.parametrize("width", [20e-9, 50e-9, 100e-9])
def test_short_reset_pulses_visit_what_a_50us_pulse_jumps_over(width: float) -> None:
    async def run() -> tuple[float, float, list[float]]:
        async with open_bench(_config()) as b:
            xb = b.crossbars["xbar0"]
            for row in range(4):
                await xb.pulse(row, list(range(4)), -1.5, 50e-6, "grounded")  # erase: the array in HRS
            g0 = await _prepare(xb, 1, 1)
            await xb.pulse(1, [1], AMP, 50e-6)  # the B2902's shortest pulse
            g_long = await _g(xb, 1, 1)
            await _prepare(xb, 2, 2)
            steps = []
            for _ in range(30):
                await xb.pulse(2, [2], AMP, width)  # the generator's
                steps.append(await _g(xb, 2, 2))
            assert await b.instruments["awg0"].errors() == []
            return g0, g_long, steps

    g0, g_long, steps = asyncio.run(run())
    assert 100e-6 < g0 <= 300e-6  # the prepared intermediate state, above every level
    assert g_long < 25e-6  # one 50 µs pulse: straight to the floor the amplitude sets
    inside = [g for g in steps if 1.2 * g_long <= g <= 100e-6]
    assert len(inside) >= 4  # states between 100 µS and the floor, which the long pulse jumped over
    assert all(a >= b for a, b in itertools.pairwise(steps))  # gradual: monotone down
    assert steps[-1] >= 0.8 * g_long  # and never below the floor the same amplitude sets
