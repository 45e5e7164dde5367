"""A pulse's own current limit (``compliance=``): checked against the drive source's configured compliance before
anything is sent, set on the drive channel for the pulse and put back after it; through the simulated SMU it
holds a SET at an intermediate state (the source folds back as the cell switches)."""

from __future__ import annotations

import numpy as np
import pytest

from labctl.bench import DEFAULT_CONFIG, open_bench
from labctl.core import BiasScheme, LimitError
from labctl.core.access import PulseAndRead


async def _erase(xbar, row: int, col: int) -> float:
    await xbar.pulse(row, [col], -1.6, 1e-4, BiasScheme.HALF)
    return (await xbar.read(row, [col], 0.1))[0].conductance


async def test_compliance_above_the_configured_one_is_refused_before_any_message() -> None:
    sent: list[tuple[str, str]] = []
    async with open_bench(DEFAULT_CONFIG, transport="inproc", log=lambda r, m: sent.append((r, m))) as bench:
        xbar = bench.crossbars["xbar0"]
        sent.clear()
        with pytest.raises(LimitError, match="compliance"):
            await xbar.pulse(3, [3], 1.5, 1e-4, BiasScheme.HALF, compliance=2.0)  # the bench allows 1 A
        assert isinstance(xbar, PulseAndRead)
        with pytest.raises(LimitError, match="compliance"):
            await xbar.pulse_and_read(3, [3], 1.5, 1e-4, BiasScheme.HALF, 0.1, compliance=2.0)
        assert sent == []


@pytest.mark.parametrize("combined", [False, True])
async def test_limited_set_stops_in_between_and_the_limit_is_restored(combined: bool) -> None:
    async with open_bench(DEFAULT_CONFIG, transport="inproc") as bench:
        xbar = bench.crossbars["xbar0"]
        smu = bench.smu("smu0")
        configured = smu.limits.compliance
        g_off = await _erase(xbar, 5, 6)
        # the other cells of row 5 and column 6 in HRS too, so the source's headroom is the selected cell's
        for c in range(64):
            if c != 6:
                await xbar.pulse(5, [c], -1.6, 1e-4, BiasScheme.HALF)
        for r in range(64):
            if r != 5:
                await xbar.pulse(r, [6], -1.6, 1e-4, BiasScheme.HALF)
        if combined:
            _, reads = await xbar.pulse_and_read(5, [6], 1.8, 1e-4, BiasScheme.HALF, 0.1, compliance=3e-3)
            g_limited = reads[0].conductance
        else:
            await xbar.pulse(5, [6], 1.8, 1e-4, BiasScheme.HALF, compliance=3e-3)
            g_limited = (await xbar.read(5, [6], 0.1))[0].conductance
        assert smu.compliance[1] == configured  # back to the configured limit
        assert float(await smu.source_limit(1)) == pytest.approx(configured)
        await _erase(xbar, 5, 6)
        await xbar.pulse(5, [6], 1.8, 1e-4, BiasScheme.HALF)  # the same SET at the configured 1 A
        g_free = (await xbar.read(5, [6], 0.1))[0].conductance
        assert g_off * 3 < g_limited < g_free / 4, (g_off, g_limited, g_free)
        assert g_free > 1e-3
        phys = bench.simulation.crossbars["xbar0"]  # type: ignore[union-attr]
        assert np.isfinite(np.asarray(phys.array.gap)).all()


async def test_a_source_whose_lines_are_also_fed_by_the_bias_folds_to_its_limit_not_to_zero() -> None:
    """The default chip starts in LRS: at a V/2 SET the 63 half-selected cells of the row draw ~0.5 A. Under a
    0.1 A limit the drive settles where it sources +0.1 A (a little above the bias level), as an SMU in
    compliance does; folding it to 0 V would pull the half-selected cells' current backwards (-0.5 A, far beyond
    the limit) and RESET-bias them at -V/2."""
    async with open_bench(DEFAULT_CONFIG, transport="inproc") as bench:
        xbar = bench.crossbars["xbar0"]
        (rec,) = await xbar.pulse(5, [5], 1.8, 1e-4, BiasScheme.HALF, compliance=0.1)
        assert rec.current == pytest.approx(0.1, rel=1e-6)
        phys = bench.simulation.crossbars["xbar0"]  # type: ignore[union-attr]
        assert float(phys.peak_pulse_voltage[5, :].min()) > -0.05  # no half-selected cell saw a RESET bias
