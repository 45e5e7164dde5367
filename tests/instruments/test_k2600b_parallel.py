"""Parallel write-verify on 2600Bs (``configs/sim_bench_2600b_parallel.yaml``): several cells of a row programmed at
once, each on its own column channel of a 2636B on the TSP-Link network, and the simulator's overlapped
measurements behind it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from labctl.bench import CONFIGS, open_bench
from labctl.core.config import load_bench_config
from labctl.core.records import CellOutcome, PulseRecord, ReadRecord
from protocols import ListSink as Sink
from protocols.program import ProgramParams
from protocols.program import run as program
from protocols.read_map import ReadMapParams
from protocols.read_map import run as read_map
from sim_instruments.bench import SimBench
from sim_instruments.devices import make_device
from tests.instruments.test_k2600b import assert_refused_before_sending

PARALLEL = CONFIGS / "sim_bench_2600b_parallel.yaml"
SINGLE = CONFIGS / "sim_bench_2600b.yaml"


async def _program(config: Any, params: ProgramParams, log: list[tuple[str, str]] | None = None
                   ) -> tuple[Sink, float, Any]:
    """Program ``params`` on a fresh bench; the sink, the modelled bench seconds it took, and a map read after it
    through the ordinary single-cell read path."""
    cb = None if log is None else (lambda r, m: log.append((r, m)))
    async with open_bench(config, log=cb) as bench:
        acc = bench.crossbars["xbar0"]
        sink = Sink()
        t0 = bench.estimated_bench_seconds()
        await program(acc, params, sink)
        seconds = bench.estimated_bench_seconds() - t0
        after = Sink()
        rows, cols = params.shape
        r0, c0 = params.origin
        await read_map(acc, ReadMapParams(region=(r0, r0 + rows + 2, c0, c0 + cols)), after)
    return sink, seconds, after


async def test_groups_program_every_cell_in_one_message_per_row_and_journal_every_pulse() -> None:
    log: list[tuple[str, str]] = []
    params = ProgramParams(random_levels=4, shape=(2, 8), origin=(3, 5))
    sink, _, after = await _program(PARALLEL, params, log)
    groups = [m for _, m in log if m.startswith("labctl_groups(")]
    assert len(groups) == 2  # one message per row of 8 cells (groups of six and two)
    assert all(m.count("cells = {") == 2 and m.count("node[4].smua") == 2 for m in groups)
    assert all(m.count("ch = ") == 8 for m in groups)
    outcomes, pulses, reads = sink.of(CellOutcome), sink.of(PulseRecord), sink.of(ReadRecord)
    assert len(outcomes) == 16
    assert sum(str(o.status) == "converged" for o in outcomes) >= 15
    assert len(reads) == len(pulses) + 16  # a first read per cell, then one after each of its pulses
    assert sum(o.pulses for o in outcomes) == len(pulses)
    assert all(1.0 <= p.volts <= 1.8 or -1.8 <= p.volts <= -1.0 for p in pulses)
    for cell in {(p.row, p.col) for p in pulses}:  # each cell's own records alternate read, pulse, read, ...
        # a reading is stamped when its conversion ends, the next pulse when it starts: the same instant
        times = sorted([(r.t, 0, "r") for r in reads if (r.row, r.col) == cell]
                       + [(p.t, 1, "p") for p in pulses if (p.row, p.col) == cell])
        kinds = "".join(k for _, _, k in times)
        assert kinds == "r" + "pr" * (len(kinds) // 2), cell
    # each verify reading was the cell's own current: the ordinary single-cell read afterwards agrees with it
    read_after = {(r.row, r.col): r.current / r.volts for r in after.of(ReadRecord)}
    for o in outcomes:
        assert o.conductance == pytest.approx(read_after[(o.row, o.col)], rel=0.05), (o.row, o.col)


async def test_groups_amortise_the_relays_and_leave_other_cells_alone() -> None:
    """Modelled bench time (the timing model's virtual clock, not wall time): six cells per relay move take less
    than half the time per cell of one cell per move on the same chip. The row below the block (half-selected at
    most, at V/2) keeps its state."""
    # per row: a batch of three groups of six, then one of two
    params = ProgramParams(random_levels=4, shape=(2, 20), origin=(20, 8))
    par, t_par, after_par = await _program(PARALLEL, params)
    one, t_one, after_one = await _program(SINGLE, params)
    assert t_par < 0.5 * t_one
    converged = [sum(str(o.status) == "converged" for o in s.of(CellOutcome)) for s in (par, one)]
    assert min(converged) >= 39
    below = {k: [r.current / r.volts for r in s.of(ReadRecord) if r.row == 22] for k, s in
             (("par", after_par), ("one", after_one))}
    assert np.allclose(below["par"], below["one"], rtol=0.05)


async def test_column_channel_limits_refuse_before_anything_is_sent() -> None:
    await assert_refused_before_sending(PARALLEL, "smu2", 4, ("labctl_groups", "loadscript"))


def test_overlapped_measurements_convert_together_and_read_what_a_plain_measurement_reads() -> None:
    bench = SimBench(load_bench_config(PARALLEL))
    smu0, smu1 = make_device(bench, "smu0"), make_device(bench, "smu1")
    make_device(bench, "matrix0a").handle('channel.close("1E01")')  # row 0 grounded (input E)
    make_device(bench, "matrix0b").handle('channel.close("1C01,1B02")')  # column 0 on smu1 smua, column 1 on smub
    setup = ("node[4].smua.source.levelv = 0.1 node[4].smua.source.output = 1 "
             "smub.source.levelv = 0.1 smub.source.output = 1 ")
    smu0.handle(setup)
    t0 = bench.now()
    smu0.handle("node[4].smua.nvbuffer1.clear() smub.nvbuffer1.clear() "
                "node[4].smua.measure.overlappedi(node[4].smua.nvbuffer1) smub.measure.overlappedi(smub.nvbuffer1) "
                "waitcomplete(0)")
    overlapped_s = bench.now() - t0 - bench.timing.command
    got = smu0.handle("print(node[4].smua.nvbuffer1[1], smub.nvbuffer1[1])")
    assert got is not None
    a, b = (float(x) for x in got.split("\t"))
    t1 = bench.now()
    plain = smu1.handle("print(smua.measure.i())")  # the same channel, through its own instrument
    plain_s = bench.now() - t1 - bench.timing.command
    assert plain is not None
    assert float(plain) == pytest.approx(a, rel=0.05)
    assert overlapped_s == pytest.approx(plain_s, rel=1e-6)  # two channels, one conversion
    assert a != 0.0
    assert b != 0.0
    assert float(smu0.handle("print(errorqueue.count)") or "nan") == 0
