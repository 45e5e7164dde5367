"""Keithley 2600B driver and the in-instrument write-verify fast path, against the simulated 2636B."""

from __future__ import annotations

import itertools
import random
from pathlib import Path
from typing import Any

import pytest

from instruments.keithley_2600b import wv_script
from labctl.bench import CONFIGS, DEFAULT_CONFIG, open_bench
from labctl.core import LimitError
from labctl.core.config import load_bench_config
from labctl.core.records import CellOutcome, PulseRecord, ReadRecord
from labctl.core.writeverify import CellProgrammer
from protocols._ispp import CellProgram
from protocols.program import ProgramParams
from protocols.program import run as program
from sim_instruments.tsp import TspEngine

BENCH_2600B = CONFIGS / "sim_bench_2600b.yaml"


class Sink:
    def __init__(self) -> None:
        self.records: list[Any] = []

    def emit(self, rec: Any) -> None:
        self.records.append(rec)


def _observe_in_lua(e: TspEngine, s: dict[str, float | bool], readings: list[float]) -> list[tuple[Any, ...]]:
    fields = ", ".join(f"{k} = {str(v).lower() if isinstance(v, bool) else repr(float(v))}" for k, v in s.items())
    e.handle(f"S = {{{fields}}} ST = labctl_state(S) OUT = {{}}")
    out = []
    for g in readings:
        reply = e.handle(f"local v, w = labctl_observe(S, ST, {g!r}) print(v, w, ST.status)")
        assert reply is not None
        v, w, status = reply.split("\t")
        out.append((None if v == "nil" else float(v), None if w == "nil" else float(w), status))
        if v == "nil":
            break
    return out


def test_lua_loop_takes_the_same_steps_as_protocols_ispp() -> None:
    e = TspEngine(idn="a,b,c,d", model="2636B", now=lambda: 0.0, delay=lambda s: None, reset=lambda: None,
                  number=lambda x, p: repr(x))
    for line in ["loadscript labctl_wv", *wv_script().splitlines(), "endscript", "labctl_wv.run()"]:
        e.handle(line)
    assert e.handle("print(errorqueue.count)") == "0.0"
    params = ProgramParams(random_levels=4)
    s = params.settings()
    rng = random.Random(1)
    steps = 0
    finals: set[str] = set()
    for case in range(60):
        target = rng.choice([10e-6, 40e-6, 70e-6, 100e-6])
        start = {-1: 1.12, 1: 1.2} if case % 3 == 0 else None
        cp = CellProgram(0, 0, target, s, start)
        near = [0.2, 0.9, 0.99, 1.0, 1.02, 1.1, 3.0, 20.0] if case % 2 else [0.1, 0.5, 0.9, 1.1, 2.0, 9.0]
        readings = [target * rng.choice(near) for _ in range(300)]
        fields: dict[str, float | bool] = {**vars(s), "lo": cp.lo, "hi": cp.hi}
        if start:
            fields.update(start_set=start[1], start_reset=start[-1])
        lua = _observe_in_lua(e, fields, readings)
        for g, (v, w, status) in zip(readings, lua, strict=False):
            nxt = cp.observe(g)
            steps += 1
            if nxt is None:
                assert v is None
                assert status == str(cp.status)
                finals.add(status)
            else:
                assert (v, w) == nxt  # bit for bit: same doubles, same rules
    assert steps > 600
    assert finals >= {"converged", "failed"}


def _unlinked() -> Any:
    """The 2600B bench without TSP-Link: one message per cell, the host routes the matrices."""
    data = load_bench_config(BENCH_2600B).model_dump(mode="json")
    for inst in data["instruments"].values():
        inst["tsplink_node"] = None
    return load_bench_config_from(data)


@pytest.mark.parametrize("linked", [True, False])
async def test_fast_path_sends_at_most_one_message_per_cell_and_journals_every_pulse(linked: bool) -> None:
    msgs: list[tuple[str, str]] = []
    cfg = load_bench_config(BENCH_2600B) if linked else _unlinked()
    async with open_bench(cfg, log=lambda r, m: msgs.append((r, m))) as bench:
        acc = bench.crossbars["xbar0"]
        assert isinstance(acc, CellProgrammer)
        assert acc.can_program_cells(ProgramParams(random_levels=4).scheme)
        assert acc.cells_per_operation(ProgramParams(random_levels=4).scheme) == (16 if linked else 0)
        smu = bench.instruments["smu0"].transport.resource
        sink = Sink()
        before = len(msgs)
        out = await program(acc, ProgramParams(random_levels=4, shape=(2, 8), origin=(1, 3)), sink)
        sent = msgs[before:]
        load = [m for r, m in sent if r == smu and not m.startswith(("labctl_cell{", "labctl_row("))]
        ops = [m for r, m in sent if r == smu and m.startswith(("labctl_cell{", "labctl_row("))]
    assert out["cells"] == 16
    assert out["converged"] >= 15
    assert len(ops) == (2 if linked else 16)  # a message per row of 8 cells (TSP-Link), or per cell
    assert sum(m == "loadscript labctl_wv" for m in load) == 1  # loading the script, once
    assert len(load) < 1.2 * len(wv_script().splitlines())
    per_cell = (len(sent) - len(load)) / 16
    # linked: a message per row + a read-back of 2 mainframes per row; unlinked: the route (one message per
    # mainframe whose relays move: both when the row changes) + the cell
    assert per_cell <= (0.5 if linked else 2.2)
    pulses = [r for r in sink.records if isinstance(r, PulseRecord)]
    reads = [r for r in sink.records if isinstance(r, ReadRecord)]
    outcomes = [r for r in sink.records if isinstance(r, CellOutcome)]
    assert len(reads) == len(pulses) + 16  # a first read, then one after every pulse
    assert sum(o.pulses for o in outcomes) == len(pulses)
    spans = {}  # each cell's first and last record time: the cells of a row run one after another
    for rec in [*pulses, *reads]:
        lo, hi = spans.get((rec.row, rec.col), (rec.t, rec.t))
        spans[(rec.row, rec.col)] = (min(lo, rec.t), max(hi, rec.t))
    order = sorted(spans, key=lambda cell: spans[cell][0])
    assert all(spans[a][1] <= spans[b][0] for a, b in itertools.pairwise(order))
    assert all(1.0 <= abs(p.volts) <= 1.8 and p.width >= 5e-5 for p in pulses)
    assert all(abs(r.volts) == 0.1 for r in reads)
    for o in outcomes:
        if str(o.status) == "converged":
            assert abs(o.conductance - o.target) <= 1e-6 + 0.03 * o.target


async def test_fast_path_matches_the_host_loop_on_the_same_chip() -> None:
    """Same chip (seed), same protocol: the B2902 bench runs the loop on the host, the 2600B bench inside the
    instrument (per cell, and per row over TSP-Link); every cell takes the same number of pulses to the same
    outcome."""
    params = ProgramParams(random_levels=4, shape=(2, 12), origin=(2, 10))
    results = []
    for cfg in (DEFAULT_CONFIG, _unlinked(), BENCH_2600B):
        async with open_bench(cfg) as bench:
            sink = Sink()
            await program(bench.crossbars["xbar0"], params, sink)
            results.append([(o.row, o.col, str(o.status), o.pulses) for o in sink.records
                            if isinstance(o, CellOutcome)])
    assert results[0] == results[1] == results[2]


async def test_resume_never_touches_done_cells_and_limits_refuse_before_sending() -> None:
    async with open_bench(BENCH_2600B) as bench:
        acc = bench.crossbars["xbar0"]
        first = Sink()
        p = ProgramParams(random_levels=4, shape=(1, 6))
        await program(acc, p, first)
        done = {(o.row, o.col): o for o in first.records if isinstance(o, CellOutcome) and o.col < 3}
        again = Sink()
        await program(acc, p, again, resume=done)
        touched = {(r.row, r.col) for r in again.records if isinstance(r, PulseRecord | ReadRecord)}
        assert touched == {(0, 3), (0, 4), (0, 5)}
    await assert_refused_before_sending(BENCH_2600B, "smu0", 2, ("labctl_cell", "loadscript"))


async def assert_refused_before_sending(config: Path, instrument: str, cells: int, heads: tuple[str, ...]) -> None:
    """With ``instrument`` limited to 1.5 V, programming ``cells`` cells of a row (caps 1.8 V) is refused with a
    LimitError naming 1.8 before any message starting with ``heads`` is sent."""
    data = load_bench_config(config).model_dump(mode="json")
    data["instruments"][instrument]["limits"] = {"max_voltage": 1.5}
    msgs: list[str] = []
    async with open_bench(load_bench_config_from(data), log=lambda r, m: msgs.append(m)) as bench:
        n = len(msgs)
        with pytest.raises(LimitError, match=r"1\.8"):
            await program(bench.crossbars["xbar0"], ProgramParams(random_levels=4, shape=(1, cells)), Sink())
        assert not any(m.startswith(heads) for m in msgs[n:])  # nothing was sent


def load_bench_config_from(data: dict[str, Any]) -> Any:
    from labctl.core.config import parse_bench_config

    return parse_bench_config(data)


def test_config_file_is_valid(tmp_path: Path) -> None:
    cfg = load_bench_config(BENCH_2600B)
    assert cfg.instruments["smu0"].driver == "keithley_2600b"
    assert [cfg.instruments[m].driver for m in ("matrix0a", "matrix0b")] == ["keithley_707b"] * 2
