"""The simulated bench through the real stack: drivers -> pyvisa-py -> TCP -> simulators -> physics."""

from __future__ import annotations

import numpy as np
import pytest

from labctl.bench import DEFAULT_CONFIG, open_bench
from labctl.core import BiasScheme, CrossbarAccess, LimitError


@pytest.mark.parametrize("transport", ["visa", "inproc"])
async def test_read_matches_physics(transport: str) -> None:
    async with open_bench(DEFAULT_CONFIG, transport=transport) as bench:
        xbar = bench.crossbars["xbar0"]
        assert isinstance(xbar, CrossbarAccess)
        assert bench.simulation is not None
        phys = bench.simulation.crossbars["xbar0"]
        g = np.asarray(phys.array.current(0.1)) / 0.1  # noiseless chord conductance
        recs = await xbar.read(5, [7, 8], 0.1)
        for r in recs:
            assert r.conductance == pytest.approx(g[r.row, r.col], rel=0.05)  # 1 % read noise + c2c
        assert float(phys.peak_read_voltage.max()) <= 0.1 + 1e-12
        if transport == "visa":
            assert bench.simulation.resources["smu0"].startswith("TCPIP::127.0.0.1::")
            assert bench.simulation.resources["smu1_aux"].startswith("ASRLsocket://127.0.0.1:")


async def test_v2_pulse_biases_every_line_as_the_scheme_says() -> None:
    async with open_bench(DEFAULT_CONFIG, transport="inproc") as bench:
        xbar, phys = bench.crossbars["xbar0"], bench.simulation.crossbars["xbar0"]  # type: ignore[union-attr]
        phys.reset_peaks()
        # an HRS region so the pulse does not hit compliance: reset row 2 and column 3 cells gently first
        phys.array.gap = np.full(phys.shape, phys.array.params.gap_max)
        await xbar.pulse(2, [3], 1.2, 1e-4, BiasScheme.HALF)
        peak = phys.peak_pulse_voltage
        assert peak[2, 3] == pytest.approx(1.2, abs=1e-6)
        half = np.zeros_like(peak, dtype=bool)
        half[2, :] = True
        half[:, 3] = True
        half[2, 3] = False
        assert np.allclose(peak[half], 0.6, atol=1e-6)
        assert np.allclose(peak[~half & (np.arange(64)[:, None] != 2)], 0.0, atol=1e-9)
        phys.reset_peaks()
        await xbar.pulse(10, [20], 1.5, 1e-4, BiasScheme.THIRD)
        peak = phys.peak_pulse_voltage
        assert peak[10, 20] == pytest.approx(1.5, abs=1e-6)
        others = np.ones_like(peak, dtype=bool)
        others[10, 20] = False
        assert np.allclose(peak[others], 0.5, atol=1e-6)  # every other cell sees V/3


async def test_pulse_changes_the_cell_and_verify_sees_it() -> None:
    async with open_bench(DEFAULT_CONFIG, transport="inproc") as bench:
        xbar, phys = bench.crossbars["xbar1"], bench.simulation.crossbars["xbar1"]  # type: ignore[union-attr]
        phys.array.gap = np.full(phys.shape, phys.array.params.gap_max)
        g0 = np.asarray(phys.array.current(0.1)) / 0.1
        before = (await xbar.read(0, [0], 0.1))[0].conductance
        for _ in range(3):
            await xbar.pulse(0, [0], 1.8, 1e-3)
        after = (await xbar.read(0, [0], 0.1))[0].conductance
        assert after > 3 * before
        g = np.asarray(phys.array.current(0.1)) / 0.1
        assert g[5, 5] == pytest.approx(g0[5, 5], rel=0.05)  # an unselected cell (0 V under V/2) kept its state
        assert g[0, 1] < after / 2  # a half-selected cell moved far less than the selected one
        assert bench.estimated_bench_seconds() > 3e-3


async def test_infer_is_the_column_current_of_all_rows_driven() -> None:
    async with open_bench(DEFAULT_CONFIG, transport="inproc") as bench:
        xbar, phys = bench.crossbars["xbar0"], bench.simulation.crossbars["xbar0"]  # type: ignore[union-attr]
        rng = np.random.default_rng(0)
        phys.array.gap = rng.uniform(phys.array.params.gap_min * 4, phys.array.params.gap_max, phys.shape)
        volts = np.where(rng.random(64) < 0.5, 0.1, -0.1)
        cells = np.asarray(phys.array.current(volts[:, None] * np.ones((64, 64))))
        expected, scale = cells.sum(0), np.abs(cells).sum(0)
        got = await xbar.infer(list(volts), [0, 5, 63])
        for k, c in enumerate([0, 5, 63]):
            assert abs(got[k] - expected[c]) < 0.03 * scale[c]


async def test_limit_error_sends_nothing() -> None:
    sent: list[tuple[str, str]] = []
    async with open_bench(DEFAULT_CONFIG, transport="inproc", log=lambda r, m: sent.append((r, m))) as bench:
        xbar = bench.crossbars["xbar0"]
        sent.clear()
        with pytest.raises(LimitError):
            await xbar.pulse(0, [0], 5.0, 1e-4)
        with pytest.raises(LimitError):
            await xbar.read(0, [0], 0.5)
        assert sent == []
        sim = bench.simulation
        assert sim is not None
        assert not any(s.on for s in sim.bench.sources.values())
        assert all(not m.closed for m in sim.bench.matrices.values())


async def test_simulator_in_its_own_process() -> None:
    """``transport='process'``: the physics and servers in a child process; reads, virtual time and the
    simulator's own state through it."""
    async with open_bench(DEFAULT_CONFIG, transport="process") as bench:
        xb = bench.crossbars["xbar0"]
        [r] = await xb.read(0, [0], 0.1)
        assert 1e-7 < r.current / 0.1 < 1e-2
        t0 = bench.now()
        await bench.wait(5.0)  # virtual time, not a 5 s sleep
        assert bench.now() - t0 >= 5.0
        state = bench.simulation.physical_state()  # type: ignore[union-attr]
        assert state["sources_on"] == []
        assert set(state["closed"]) == {n for n, i in bench.config.instruments.items() if i.is_matrix}
    assert not bench.simulation.running  # type: ignore[union-attr]
