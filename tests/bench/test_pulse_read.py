"""PulseAndRead and wait on the bench: one message per programming step, same physics as pulse-then-read,
no relay traffic for repeated operations on one cell, virtual waits."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from labctl.bench import DEFAULT_CONFIG, open_bench
from labctl.core import BiasScheme, LimitError
from labctl.core.access import CrossbarAccess, PulseAndRead
from labctl.jobs.protocol_run import run_protocol
from labctl.store import RunStore

STEPS = [(-1.1, 5e-5), (-1.15, 5e-5), (-1.2, 1e-4), (1.3, 5e-5), (-1.25, 5e-5)]


async def _program_steps(combined: bool) -> tuple[list[float], list[float], np.ndarray, list[tuple[str, str]]]:
    sent: list[tuple[str, str]] = []
    async with open_bench(DEFAULT_CONFIG, transport="inproc", log=lambda r, m: sent.append((r, m))) as bench:
        xbar, phys = bench.crossbars["xbar0"], bench.simulation.crossbars["xbar0"]  # type: ignore[union-attr]
        await xbar.read(4, [9], 0.1)
        sent.clear()
        pulses, reads = [], []
        for volts, width in STEPS:
            if combined:
                assert isinstance(xbar, PulseAndRead)
                p, r = await xbar.pulse_and_read(4, [9], volts, width, BiasScheme.HALF, 0.1)
            else:
                p = await xbar.pulse(4, [9], volts, width, BiasScheme.HALF)
                r = await xbar.read(4, [9], 0.1)
            assert [(x.row, x.col, x.volts, x.width) for x in p] == [(4, 9, volts, width)]
            assert [(x.row, x.col, x.volts) for x in r] == [(4, 9, 0.1)]
            assert p[0].t <= r[0].t
            pulses.append(p[0].current)
            reads.append(r[0].conductance)
        return pulses, reads, np.asarray(phys.array.gap), list(sent)


async def test_pulse_and_read_is_one_message_per_step_with_the_same_physics() -> None:
    p1, r1, gap1, sent1 = await _program_steps(combined=False)
    p2, r2, gap2, sent2 = await _program_steps(combined=True)
    # the same seeded bench: identical pulse currents, readings (read noise included) and final state
    assert p2 == p1
    assert r2 == r1
    np.testing.assert_array_equal(gap2, gap1)
    assert max(r1) / min(r1) > 1.5  # the steps did move the cell
    # the relays were set by the first read: no matrix message; one SMU message per step (two before)
    assert [res for res, _ in sent2] == ["inproc://smu0"] * len(STEPS)
    assert [res for res, _ in sent1] == ["inproc://smu0"] * (2 * len(STEPS))
    assert all(m.count("?") == 2 for _, m in sent2)  # the pulse's FETC? and the read's MEAS?


async def test_pulse_and_read_falls_back_where_the_read_needs_other_relays() -> None:
    sent: list[tuple[str, str]] = []
    async with open_bench(DEFAULT_CONFIG, transport="inproc", log=lambda r, m: sent.append((r, m))) as bench:
        xbar = bench.crossbars["xbar0"]
        for scheme, cols in ((BiasScheme.THIRD, [3]), (BiasScheme.HALF, [3, 4])):
            sent.clear()
            p, r = await xbar.pulse_and_read(2, cols, -1.1, 5e-5, scheme, 0.1)
            assert [x.col for x in p] == cols
            assert [x.col for x in r] == cols
            assert all(x.scheme == str(scheme) for x in p)
            assert any("MEAS:CURR?" in m and "INIT" not in m for _, m in sent)  # a separate read message
        sim = bench.simulation
        assert sim is not None
        assert not any(s.on for s in sim.bench.sources.values())  # every operation ends with outputs off


async def test_pulse_and_read_limits_raise_before_anything_is_sent() -> None:
    sent: list[tuple[str, str]] = []
    async with open_bench(DEFAULT_CONFIG, transport="inproc", log=lambda r, m: sent.append((r, m))) as bench:
        xbar = bench.crossbars["xbar0"]
        assert isinstance(xbar, PulseAndRead)
        sent.clear()
        with pytest.raises(LimitError, match="read"):
            await xbar.pulse_and_read(0, [0], -1.1, 5e-5, BiasScheme.HALF, 0.5)
        with pytest.raises(LimitError):
            await xbar.pulse_and_read(0, [0], -5.0, 5e-5, BiasScheme.HALF, 0.1)
        with pytest.raises(LimitError, match="width"):
            await xbar.pulse_and_read(0, [0], -1.1, 1e-6, BiasScheme.HALF, 0.1)
        assert sent == []


async def test_wait_is_virtual_bench_time_and_retention_uses_it(tmp_path: Path) -> None:
    async with open_bench(DEFAULT_CONFIG, transport="inproc") as bench:
        xbar = bench.crossbars["xbar0"]
        assert isinstance(xbar, CrossbarAccess)
        t0, w0 = xbar.now(), time.monotonic()
        await xbar.wait(3600.0)
        await xbar.wait(-1.0)  # nothing
        assert xbar.now() - t0 == pytest.approx(3600.0)
        assert time.monotonic() - w0 < 60  # not slept
        res = await run_protocol(None, "retention", {"region": [0, 1, 0, 2], "interval": 600.0, "duration": 3000.0},
                                 store_root=tmp_path, bench=bench)
        assert res.status == "completed"
        assert res.run_id is not None
        t = dict(RunStore(tmp_path).results(res.run_id))["retention"]["t"]
        np.testing.assert_allclose(np.diff(t), 600.0, rtol=1e-3)  # reads on the bench clock, every interval
