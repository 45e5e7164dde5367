"""kill -9 of ``labctl loop`` after it has stored its placement, then a rerun with ``--reuse-placement``: the rerun
scans nothing and programs, reads and infers at exactly the stored lines."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labctl.analysis.placement import Placement
from labctl.bench import DEFAULT_CONFIG
from labctl.jobs._placed import stored_placement
from labctl.jobs.closed_loop import LoopOptions, run_loop
from labctl.store import RunStore

# two loop runs (training, a scan of 2 x 144 cells, programming); the suite default of 120 s is per test
pytestmark = pytest.mark.timeout(600)
LABCTL = str(Path(sys.executable).parent / "labctl")
SCAN = {"read_found": False, "restore": False, "region": (0, 12, 0, 12)}


def _runs(store: RunStore, protocol: str) -> list[str]:
    try:
        return [r.id for r in store.list_runs() if r.protocol == protocol]
    except Exception:  # the store does not exist yet
        return []


def test_placement_survives_kill9_and_resume(tmp_path: Path) -> None:
    out = tmp_path / "loop"
    store = RunStore(out / "runs")
    opts = {"out": str(out), "bench": str(DEFAULT_CONFIG), "sizes": (16, 4, 4), "n_test": 8, "retrain_epochs": 0,
            "read_repeats": 1, "stuck_on": 0.05, "stuck_off": 0.05, "scan": SCAN, "retrain_restarts": 0,
            "train": {"restarts": 1, "epochs": 60, "hard_epochs": 30},
            "transport": "inproc"}
    script = ("import asyncio, json, sys; from labctl.jobs.closed_loop import LoopOptions, run_loop; "
              "asyncio.run(run_loop(LoopOptions(**json.loads(sys.argv[1]))))")
    import json

    proc = subprocess.Popen([sys.executable, "-c", script, json.dumps(opts)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while not _runs(store, "program") and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the loop ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    found = stored_placement(store)
    assert found is not None
    before, faults, made_from = found
    assert Placement.from_json((out / "placement.json").read_text()) == before
    scans = _runs(store, "scan")
    assert len(scans) == 2
    assert sorted(made_from) == sorted(scans)  # a resumed loop models the lines with these scans' backgrounds

    res = asyncio.run(run_loop(LoopOptions(**opts, reuse_placement=True)))
    assert _runs(store, "scan") == scans  # nothing scanned again
    assert Placement.from_dict(res.report.placement) == Placement.from_dict(before.to_dict() | {
        "damage": res.report.placement["damage"]})
    for r in res.report.runs:
        if r["protocol"] != "program" or r["stage"] != "initial":
            continue
        cells = set(store.outcomes(r["id"]))
        lines = {(row, col) for lp in before.layers.values() for s in lp.segments if s.crossbar == r["crossbar"]
                 for row in s.rows for col in s.cols}
        assert cells
        assert cells <= lines
    assert set(faults) == {"xbar0", "xbar1"}
