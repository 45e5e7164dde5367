"""RunStore / Journal: atomic creation, batching, durability of committed cells, paging, maps, exports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from labctl.core import (
    CellOutcome,
    CellStatus,
    InferenceRecord,
    MapRecord,
    Progress,
    PulseRecord,
    ReadRecord,
    ResultRecord,
    StoreError,
)
from labctl.store import RunStore


def _fill(store: RunStore, run_id: str) -> None:
    with store.journal(run_id, batch=3) as j:
        for k in range(5):
            j.emit(PulseRecord(0, k, 1.1, 1e-5, float(k)))
            j.emit(ReadRecord(0, k, 0.1, 1e-6 * (k + 1), float(k) + 0.5))
        j.emit(CellOutcome(0, 1, CellStatus.CONVERGED, 1e-5, 1.01e-5, 3))
        j.emit(Progress(1, 4, "x"))
        j.emit(InferenceRecord((0.1, -0.1), (0, 1), (1e-6, 2e-6), 9.0))
        g = np.full((2, 3), np.nan)
        g[0, 1] = 1.01e-5
        status = np.array([["", "converged", ""], ["", "", ""]])
        j.emit(MapRecord("program", g, 0.1, targets=np.full((2, 3), 1e-5), status=status, extra={"n": np.ones((2, 3))}))
        j.emit(ResultRecord("iv", {"volts": np.arange(3.0), "note": "ok", "bad": float("nan")}))


def test_create_list_get_and_records(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    info = store.create_run("program", {"random_levels": 4}, {"bench": "sim"}, crossbar="xbar1", run_id="r1")
    assert [r.id for r in store.list_runs()] == ["r1"]
    assert info.status == "created"
    assert info.crossbar == "xbar1"
    assert info.snapshot == {"bench": "sim"}
    _fill(store, "r1")
    got = store.get_run("r1")
    assert got.status == "running"
    assert got.attempts == 1
    assert (got.progress_done, got.progress_total) == (1, 4)
    ev = store.events("r1", offset=0, limit=4)
    assert [e["type"] for e in ev] == ["pulse", "read", "pulse", "read"]
    assert store.events("r1", offset=8, limit=100)[-1]["col"] == 4
    assert len(store.events("r1", 0, 100)) == 10
    assert store.outcomes("r1")[(0, 1)].status is CellStatus.CONVERGED
    m = store.load_map("r1")
    assert m.conductance.shape == (2, 3)
    assert m.status[0, 1] == "converged"
    assert m.read_voltage == 0.1
    assert np.isnan(m.conductance[0, 0])
    assert m.extra["n"].sum() == 6
    assert store.results("r1") == [("iv", {"volts": [0.0, 1.0, 2.0], "note": "ok", "bad": None})]
    assert store.inferences("r1")[0]["row_volts"] == [0.1, -0.1]
    store.set_status("r1", "completed")
    assert store.get_run("r1").status == "completed"


def test_bad_inputs_are_clear_errors(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    with pytest.raises(StoreError, match="not found"):
        store.get_run("nope")
    with pytest.raises(StoreError, match="invalid"):
        store.create_run("program", {}, {}, run_id="../evil")
    store.create_run("program", {}, {}, run_id="r1")
    with pytest.raises(StoreError, match="already exists"):
        store.create_run("program", {}, {}, run_id="r1")
    with pytest.raises(StoreError, match="limit"):
        store.events("r1", 0, 0)
    with pytest.raises(StoreError, match="no map"):
        store.load_map("r1")
    with pytest.raises(StoreError, match="fmt"):
        store.export("r1", "xlsx", tmp_path / "x")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_exports(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    store.create_run("program", {"a": 1}, {"s": 2}, run_id="r1")
    _fill(store, "r1")
    h5 = store.export("r1", "hdf5", tmp_path / "r1.h5")
    with h5py.File(h5) as f:
        assert f.attrs["protocol"] == "program"
        assert f["events/volts"].shape == (10,)
        assert list(f["outcomes/status"].asstr()[()]) == ["converged"]
        (grp,) = f["maps"].values()
        assert grp["conductance"].shape == (2, 3)
    out = store.export("r1", "csv", tmp_path / "csv")
    assert (out / "events.csv").read_text().count("\n") == 11
    assert "converged" in (out / "outcomes.csv").read_text()
    npz = store.export("r1", "npz", tmp_path / "map.npz")
    with np.load(npz) as z:
        assert set(z.files) == {"conductance", "targets", "status", "read_voltage"}
        assert z["status"][0, 1] == "converged"
        assert float(z["read_voltage"]) == 0.1


_KILLED = """
import os, sys
from labctl.core import CellOutcome, CellStatus, PulseRecord
from labctl.store import RunStore
store = RunStore(sys.argv[1])
with store.journal("r1", batch=10_000) as j:
    for k in range(3):
        j.emit(PulseRecord(0, k, 1.1, 1e-5, 0.0))
        j.emit(CellOutcome(0, k, CellStatus.CONVERGED, 1e-5, 1e-5, 1))
    j.emit(PulseRecord(0, 3, 1.1, 1e-5, 0.0))  # buffered only: the cell is in flight
    os.kill(os.getpid(), 9)
"""


def test_committed_cells_survive_kill_9(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    store.create_run("program", {}, {}, run_id="r1")
    proc = subprocess.run([sys.executable, "-c", _KILLED, str(tmp_path)], env={**os.environ}, check=False)
    assert proc.returncode == -9
    assert sorted(store.outcomes("r1")) == [(0, 0), (0, 1), (0, 2)]
    ev = store.events("r1", 0, 100)
    assert [(e["type"], e["col"]) for e in ev] == [("pulse", 0), ("pulse", 1), ("pulse", 2)]
    with store.journal("r1") as j:
        assert j.attempt == 2
