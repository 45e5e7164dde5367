"""Cases on a two-node Ray cluster on 127.0.0.1; run by ``test_ray_cluster.py`` inside a loopback-only network
namespace (skipped when collected anywhere else)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

if os.environ.get("LABCTL_NETNS") != "1":
    pytest.skip("runs only inside the loopback namespace of test_ray_cluster.py", allow_module_level=True)

from click.testing import CliRunner

from labctl.analysis import pulses_after
from labctl.cli import cli
from labctl.jobs.sweep import CHIP_RESULT, expand, parse_spec, run_sweep, write_plan
from labctl.store import RunStore

LABCTL = str(Path(sys.executable).parent / "labctl")
SPEC = {"name": "mc", "seeds": [0, 1],
        "variants": [{"name": "a", "array": {"rows": 8, "cols": 8}},
                     {"name": "b", "array": {"rows": 8, "cols": 8}, "sim": {"nonideal": {"d2d": 0.2}}}],
        "job": {"protocol": "program", "params": {"random_levels": 4}}}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    from ray.cluster_utils import Cluster

    small = {"num_cpus": 1, "object_store_memory": 80 * 2**20}
    # workers at nice 0 as labctl's local Ray has them (Ray's default 15 crawls on a loaded machine)
    head = small | {"include_dashboard": False, "_system_config": {"worker_niceness": 0}}
    c = Cluster(initialize_head=True, head_node_args=head)
    c.add_node(**small)
    c.wait_for_nodes()
    yield c
    c.shutdown()


def _record(out: Path) -> list[dict[str, Any]]:
    return [d for n, d in RunStore(out / "runs").results("sweep-mc") if n == CHIP_RESULT]


@pytest.mark.timeout(300)
def test_two_nodes_and_a_worker_killed_mid_chip(cluster: Any, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    spec = parse_spec(SPEC)
    write_plan(out, spec, expand(spec))
    store = RunStore(out / "runs")
    killed: list[tuple[int, dict[Any, Any]]] = []

    def killer() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                outs = store.outcomes("a-s0-program")
                if len(outs) >= 16:
                    pid = int((out / "chips" / "a-s0" / "pid").read_text())
                    os.kill(pid, signal.SIGKILL)
                    killed.append((pid, outs))
                    return
            except Exception:  # the run or pid file is not there yet
                pass
            time.sleep(0.02)

    t = threading.Thread(target=killer, daemon=True)
    t.start()
    events: list[tuple[str, str]] = []
    res = run_sweep(out, address=cluster.address, workers=2, on_event=lambda k, c, _d: events.append((k, c)))
    t.join(5)
    assert killed, "the chip finished before its worker could be killed"
    assert res.failed == {}
    assert len(res.completed) == 4
    recorded = _record(out)
    assert sorted(d["chip"] for d in recorded) == ["a-s0", "a-s1", "b-s0", "b-s1"]  # each chip once
    assert len({d["node"] for d in recorded}) == 2  # both nodes ran chips
    a0 = next(d for d in recorded if d["chip"] == "a-s0")
    assert a0["attempt"] == 2
    assert a0["pid"] != killed[0][0]
    before = killed[0][1]
    assert a0["metrics"]["resumed_cells"] >= len(before)
    info = store.get_run("a-s0-program")
    assert info.status == "completed"
    assert info.attempts == 2
    ev = store.event_arrays("a-s0-program")
    assert pulses_after(ev, before, attempt=2) == {}  # no verified cell pulsed again
    assert len(store.outcomes("a-s0-program")) == 64
    assert [c for k, c in events if k == "done"].count("a-s0") == 1
    # labctl runs and labctl report work on the sweep's store
    runs = json.loads(CliRunner().invoke(cli, ["runs", "list", "--json", "--store", str(out / "runs")]).output)
    assert {r["id"] for r in runs} == {"sweep-mc", "a-s0-program", "a-s1-program", "b-s0-program", "b-s1-program"}
    sweep_row = next(r for r in runs if r["id"] == "sweep-mc")
    assert sweep_row["status"] == "completed"
    assert sweep_row["progress_done"] == 4
    r = CliRunner().invoke(cli, ["report", "sweep-mc", "--store", str(out / "runs"), "--out", str(tmp_path / "r")])
    assert r.exit_code == 0, r.output
    rep = json.loads((tmp_path / "r.json").read_text())
    assert len(rep["chips"]) == 4
    assert rep["retried"] == ["a-s0"]
    assert (tmp_path / "r.html").read_text().count("<img") >= 3


@pytest.mark.timeout(300)
def test_driver_killed_then_resume(cluster: Any, tmp_path: Path) -> None:
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(SPEC))
    out = tmp_path / "sweep"
    driver = subprocess.Popen([LABCTL, "sweep", str(spec_file), "--out", str(out), "--address", cluster.address,
                               "--workers", "1", "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and driver.poll() is None:
        try:
            if len(_record(out)) >= 1:
                break
        except Exception:  # the record is not there yet
            pass
        time.sleep(0.05)
    assert driver.poll() is None, "the driver finished before it could be killed"
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    first = {d["chip"] for d in _record(out)}
    assert 1 <= len(first) < 4
    res = subprocess.run([LABCTL, "sweep", "--resume", str(out), "--address", cluster.address, "--quiet"],
                         capture_output=True, text=True, timeout=200)
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["already_done"] == len(first)
    assert summary["completed_now"] == 4 - len(first)
    recorded = _record(out)
    assert sorted(d["chip"] for d in recorded) == ["a-s0", "a-s1", "b-s0", "b-s1"]  # nothing twice, none lost
    store = RunStore(out / "runs")
    for d in recorded:
        assert store.get_run(d["runs"][0]).status == "completed"
        assert len(store.outcomes(d["runs"][0])) == 64
    assert (out / "report.html").is_file()
    assert json.loads((out / "report.json").read_text())["chips_total"] == 4


@pytest.mark.timeout(300)
async def test_service_runs_a_sweep_job_with_progress_per_chip(cluster: Any, tmp_path: Path) -> None:
    import httpx

    from labctl.service.config import SweepsConfig
    from tests.service.harness import serve, sse

    spec = SPEC | {"name": "svc", "seeds": [7], "transport": "inproc"}
    async with serve(tmp_path / "store", sweeps=SweepsConfig(address=cluster.address, workers=2)) as svc, \
            httpx.AsyncClient(base_url=svc.url, timeout=30) as client:
        bad = await client.post("/trainer/jobs", json={"kind": "sweep", "params": {"spec": SPEC | {"colour": 1}}})
        assert bad.status_code == 422
        assert "colour" in bad.text
        r = await client.post("/trainer/jobs", json={"kind": "sweep", "params": {"spec": spec}})
        assert r.status_code == 202, r.text
        progress, states = [], []
        async for event, data in sse(client, r.json()["id"]):
            (progress if event == "progress" else states).append(data)
        assert states[-1]["state"] == "succeeded", states[-1]
        # one event per chip (a subscriber may also get the latest event again when it connects)
        assert {p["message"] for p in progress} == {"chip a-s7 done", "chip b-s7 done"}
        dones = [p["done"] for p in progress]
        assert dones == sorted(dones)
        assert dones[-1] == 2
        assert all(p["total"] == 2 for p in progress)
        assert all(0 <= p["extra"]["yield"] <= 1 for p in progress)
        result = states[-1]["result"]
        assert result["chips"] == 2
        assert result["failed"] == {}
    _check_files(result)


def _check_files(result: dict[str, Any]) -> None:
    assert Path(result["report"]).is_file()
    assert len(RunStore(result["store"]).list_runs()) == 3  # the sweep record + one program run per chip
