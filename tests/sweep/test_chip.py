"""One chip's job without any engine: its runs in the sweep store, its result, and resume after kill -9 (the
chip's physics saved beside its journal, so a resumed chip is the same chip)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from labctl.analysis import pulses_after
from labctl.bench import open_bench
from labctl.core.config import parse_bench_config
from labctl.jobs.protocol_run import run_protocol
from labctl.jobs.sweep import Chip, expand, parse_spec, run_chip
from labctl.jobs.sweep.checkpoint import ChipState
from labctl.store import RunStore

ROWS = COLS = 8


def chip(transport: str = "inproc", rows: int = ROWS) -> Chip:
    s = parse_spec({"name": "c", "seeds": [5], "transport": transport,
                    "variants": [{"name": "v", "array": {"rows": rows, "cols": COLS},
                                  "sim": {"nonideal": {"d2d": 0.1}}}],
                    "job": {"protocol": "program", "params": {"random_levels": 4, "seed": 1}}})
    return expand(s)[0]


def read_back(c: Chip, state: Path | None) -> tuple[np.ndarray, float]:
    """A fresh bench of the chip (its physics restored from ``state`` when given) read with read_map."""

    async def go() -> tuple[np.ndarray, float]:
        async with open_bench(parse_bench_config(c.bench), transport="inproc") as bench:
            if state is not None:
                ChipState(state).load(bench.simulation.bench)
            store = RunStore(state.parent / "check" if state else Path(os.environ["TMP_CHECK"]))
            res = await run_protocol(None, "read_map", {"repeats": 1}, store_root=store.root, bench=bench)
            return store.load_map(str(res.run_id), name="read_map").conductance, bench.simulation.now()

    return asyncio.run(go())


def test_chip_result_runs_and_metrics(tmp_path: Path) -> None:
    c = chip()
    res = run_chip(c, tmp_path)
    store = RunStore(tmp_path / "runs")
    assert res["chip"] == "v-s5"
    assert res["attempt"] == 1
    assert res["runs"] == ["v-s5-program"]
    info = store.get_run("v-s5-program")
    assert info.status == "completed"
    assert info.snapshot["bench"]["sim"]["seed"] == 5
    outs = store.outcomes("v-s5-program")
    m = res["metrics"]
    assert m["cells"] == len(outs) == ROWS * COLS
    assert m["converged"] == sum(str(o.status) == "converged" for o in outs.values())
    assert m["yield"] == pytest.approx(m["converged"] / m["cells"])
    ev = store.event_arrays("v-s5-program")
    assert m["pulses_total"] == int((ev["type"] == "pulse").sum()) > 0
    assert m["pulses_per_cell"] == pytest.approx(m["pulses_total"] / m["cells"])
    assert m["program_bench_s"] > 0
    # a second call (the engine retrying a chip that had completed) pulses nothing and returns the same figures
    again = run_chip(c, tmp_path)
    assert again["attempt"] == 2
    assert again["metrics"]["pulses_total"] == m["pulses_total"]
    assert len(store.event_arrays("v-s5-program")["type"]) == len(ev["type"])


def test_saved_physics_is_the_programmed_chip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    c = chip()
    run_chip(c, tmp_path)
    store = RunStore(tmp_path / "runs")
    outs = store.outcomes("v-s5-program")
    conv = [o for o in outs.values() if str(o.status) == "converged"]
    assert len(conv) > ROWS * COLS // 2
    g, _ = read_back(c, tmp_path / "chips" / "v-s5" / "physics.state")
    err = [abs(g[o.row, o.col] - o.target) / o.target for o in conv]
    assert np.median(err) < 0.05  # verify tolerance 3 % + read noise
    monkeypatch.setenv("TMP_CHECK", str(tmp_path / "fresh"))
    g0, _ = read_back(c, None)  # the same chip unprogrammed (all cells at their formed state) reads far off
    err0 = [abs(g0[o.row, o.col] - o.target) / o.target for o in conv]
    assert np.median(err0) > 1.0


def test_kill_mid_chip_then_resume(tmp_path: Path) -> None:
    """kill -9 of the process running a chip; the next call resumes from the journal: no verified cell pulsed
    again, every cell once, and the chip's physics as programmed across both attempts."""
    c = chip(transport="visa", rows=12)
    (tmp_path / "chip.json").write_text(c.model_dump_json())
    code = ("import sys; from labctl.jobs.sweep import Chip, run_chip; "
            "run_chip(Chip.model_validate_json(open(sys.argv[1]).read()), sys.argv[2])")
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "chip.json"), str(tmp_path)],
                            stderr=subprocess.DEVNULL)
    store = RunStore(tmp_path / "runs")
    run = "v-s5-program"
    deadline = time.monotonic() + 60
    n = 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            n = len(store.outcomes(run))
        except Exception:  # not created yet
            n = 0
        if n >= 20:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the chip finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = store.outcomes(run)
    assert 20 <= len(before) < 12 * COLS
    res = run_chip(c, tmp_path)
    assert res["attempt"] == 2
    assert res["metrics"]["resumed_cells"] == len(before)
    assert res["metrics"]["lost_cells"] == 0
    info = store.get_run(run)
    assert info.status == "completed"
    assert info.attempts == 2
    ev = store.event_arrays(run)
    assert pulses_after(ev, before, attempt=2) == {}
    after = store.outcomes(run)
    assert len(after) == 12 * COLS
    attempts = store.outcome_attempts(run)
    assert all(attempts[cell] == 1 for cell in before)
    assert all(after[cell] == before[cell] for cell in before)
    # the physics carried over: cells verified before the kill still read at their targets
    g, _ = read_back(c, tmp_path / "chips" / "v-s5" / "physics.state")
    conv = [o for cell, o in before.items() if str(o.status) == "converged"]
    err = [abs(g[o.row, o.col] - o.target) / o.target for o in conv]
    assert conv
    assert np.median(err) < 0.05


def test_saved_state_carries_forming(tmp_path: Path) -> None:
    """Forming changes a virgin cell for good (gap, V0, over-formed = stuck ON): the saved state keeps it."""
    from labctl.bench import DEFAULT_CONFIG
    from labctl.core.config import load_bench_config
    from sim_instruments.bench import SimBench

    data = load_bench_config(DEFAULT_CONFIG).model_dump(mode="json")
    data["sim"]["nonideal"]["virgin"] = 0.5
    cfg = parse_bench_config(data)
    bench = SimBench(cfg)
    arr = bench.crossbars["xbar0"].array
    virgin0 = arr.virgin.copy()
    bench.crossbars["xbar0"].pulse([3.5] + [0.0] * 63, [0.0] * 64, 1e-3)  # forms cells of row 0
    assert (arr.virgin != virgin0).any()
    ChipState(tmp_path / "s").save(bench, 1)
    fresh = SimBench(cfg)
    assert (fresh.crossbars["xbar0"].array.virgin != arr.virgin).any()
    assert ChipState(tmp_path / "s").load(fresh) == 1
    new = fresh.crossbars["xbar0"].array
    assert np.array_equal(new.virgin, arr.virgin)
    assert np.array_equal(new.stuck_on, arr.stuck_on)
    assert np.array_equal(np.asarray(new.gap), np.asarray(arr.gap))
    assert np.array_equal(np.asarray(new.cells.V0), np.asarray(arr.cells.V0))
    assert fresh.now() == bench.now()
