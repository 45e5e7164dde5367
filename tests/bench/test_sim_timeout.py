"""I/O timeouts: a simulated instrument without its own gets sim.timeout (tolerant of a loaded machine), a real one
2 s, and an explicit timeout always wins; a silent simulator still ends in a TransportError."""

from __future__ import annotations

from typing import Any

import pytest

from labctl.bench import DEFAULT_CONFIG, open_bench
from labctl.bench._bench import REAL_TIMEOUT, io_timeout
from labctl.core import TransportError
from labctl.core.config import BenchConfig, load_bench_config
from labctl.jobs._layers import sim_variant


def test_simulated_instruments_get_the_sim_timeout_and_explicit_ones_win() -> None:
    cfg = load_bench_config(DEFAULT_CONFIG)
    assert cfg.sim is not None
    assert cfg.sim.timeout == 30.0
    assert all(io_timeout(cfg, n) == 30.0 for n in cfg.instruments)
    # a variant of the config (the loop's --stuck) keeps it: the default is not frozen in by a dump and reload
    variant = sim_variant(cfg, stuck_on=0.02, stuck_off=0.02)
    assert all(io_timeout(variant, n) == 30.0 for n in variant.instruments)
    data: dict[str, Any] = cfg.model_dump()
    data["instruments"]["smu0"]["timeout"] = 0.5
    data["sim"]["timeout"] = 12.0
    cfg2 = BenchConfig.model_validate(data)
    assert io_timeout(cfg2, "smu0") == 0.5
    assert io_timeout(cfg2, "smu1") == 12.0


def test_a_real_bench_keeps_short_timeouts() -> None:
    cfg = load_bench_config("configs/example_lab_bench.yaml")
    assert cfg.sim is None
    for name, inst in cfg.instruments.items():
        assert io_timeout(cfg, name) == (inst.timeout if inst.timeout is not None else REAL_TIMEOUT)
    assert REAL_TIMEOUT == 2.0


def test_sim_timeout_out_of_range_names_the_field() -> None:
    data: dict[str, Any] = load_bench_config(DEFAULT_CONFIG).model_dump()
    data["sim"]["timeout"] = 0
    with pytest.raises(Exception, match="timeout"):
        BenchConfig.model_validate(data)


async def test_a_silent_simulator_still_times_out_at_the_sim_timeout() -> None:
    data: dict[str, Any] = load_bench_config(DEFAULT_CONFIG).model_dump()
    data["sim"]["timeout"] = 0.2
    async with open_bench(BenchConfig.model_validate(data)) as bench:
        assert bench.instruments["smu0"].transport.timeout == pytest.approx(0.2)
        bench.simulation.set_fault("smu0", no_reply_every=1)
        with pytest.raises(TransportError, match=r"timeout.*after 2 retries"):
            await bench.crossbars["xbar0"].read(0, [0], 0.1)
        bench.simulation.set_fault("smu0")
