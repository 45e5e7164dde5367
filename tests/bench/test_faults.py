"""Fault injection per simulated instrument: every fault ends in a clear error or a successful retry,
and the bench in a safe state."""

from __future__ import annotations

from typing import Any

import pytest

from labctl.bench import DEFAULT_CONFIG, open_bench
from labctl.core import InstrumentError, TransportError
from labctl.core.config import BenchConfig, load_bench_config


def _config(timeout: float = 0.3) -> BenchConfig:
    data: dict[str, Any] = load_bench_config(DEFAULT_CONFIG).model_dump()
    for inst in data["instruments"].values():
        inst["timeout"] = timeout
    return BenchConfig.model_validate(data)


def _assert_safe(bench: Any) -> None:
    sim = bench.simulation
    assert not any(s.on for s in sim.bench.sources.values())
    assert all(not (m.closed - m.stuck) for m in sim.bench.matrices.values())


async def test_latency_is_tolerated() -> None:
    async with open_bench(_config()) as bench:
        bench.simulation.set_fault("smu0", latency=0.02)
        recs = await bench.crossbars["xbar0"].read(1, [1], 0.1)
        assert recs[0].current > 0


async def test_lost_reply_to_a_read_is_retried() -> None:
    async with open_bench(_config()) as bench:
        xbar = bench.crossbars["xbar0"]
        await xbar.read(1, [1], 0.1)
        bench.simulation.set_fault("smu0", no_reply_every=2)
        recs = [await xbar.read(1, [c], 0.1) for c in range(3)]
        assert all(r[0].current > 0 for r in recs)


async def test_dropped_connection_is_reopened_for_a_safe_query() -> None:
    async with open_bench(_config()) as bench:
        xbar = bench.crossbars["xbar0"]
        bench.simulation.set_fault("smu0", drop_after=3)
        for c in range(4):
            assert (await xbar.read(2, [c], 0.1))[0].current > 0


async def test_garbled_reply_read_retried_pulse_never_repeated() -> None:
    async with open_bench(_config()) as bench:
        xbar, sim = bench.crossbars["xbar0"], bench.simulation
        await xbar.read(0, [0], 0.1)
        sim.set_fault("smu0", garble_every=1)
        before = sim.bench.pulses
        with pytest.raises(TransportError, match="not repeated"):
            await xbar.pulse(0, [0], 1.0, 1e-4)
        assert sim.bench.pulses == before + 1  # executed once, not repeated blindly
        assert bench.safe_events
        assert "pulse failed" in bench.safe_events[-1]
        _assert_safe(bench)
        sim.set_fault("smu0", garble_every=2)
        assert (await xbar.read(0, [1], 0.1))[0].current > 0


async def test_no_reply_at_all_raises_clearly_and_ends_safe() -> None:
    async with open_bench(_config(timeout=0.15)) as bench:
        xbar, sim = bench.crossbars["xbar0"], bench.simulation
        sim.set_fault("smu0", no_reply_every=1)
        with pytest.raises(TransportError, match=r"timeout.*after 2 retries"):
            await xbar.read(0, [0], 0.1)
        _assert_safe(bench)
        sim.set_fault("smu0")


async def test_stuck_relay_is_detected_and_bench_ends_safe() -> None:
    async with open_bench(_config()) as bench:
        xbar, sim = bench.crossbars["xbar0"], bench.simulation
        sim.set_fault("matrix0a", stuck_relays=[(1, 5)])  # drive input never reaches row 4
        with pytest.raises(InstrumentError, match=r"stuck relay.*input 1, output 5"):
            await xbar.pulse(4, [0], 1.0, 1e-4)
        assert sim.bench.pulses == 0
        _assert_safe(bench)
