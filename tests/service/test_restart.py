"""kill -9 the service in the middle of a job, start it again: the job resumes from its journal and finishes,
no verified cell is pulsed again, and the job queued behind it stays queued and runs."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import numpy as np

from labctl.store import RunStore
from tests.service.harness import free_port, program_job, start_subprocess, wait_up

ROWS, COLS = 10, 10


def _wait(client: httpx.Client, job_id: str, cond: object, timeout: float = 60) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, object] = client.get(f"/jobs/{job_id}").json()
        if cond(job):  # type: ignore[operator]
            return job
        time.sleep(0.05)
    raise TimeoutError(f"job {job_id}: condition not met in {timeout} s")


def test_kill_9_mid_job_then_resume(tmp_path: Path) -> None:
    store, log = tmp_path / "store", tmp_path / "serve.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_subprocess(store, port, log)
    try:
        wait_up(url, proc)
        with httpx.Client(base_url=url, timeout=10) as c:
            job = c.post("/jobs", json=program_job("sim", ROWS, COLS)).json()
            queued = c.post("/jobs", json=program_job("sim", 2, 2, seed=7)).json()
            _wait(c, job["id"], lambda j: (j.get("progress") or {}).get("done", 0) >= 20)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)

    runs = RunStore(store)
    [info] = runs.list_runs()
    verified_before = {cell for cell, a in runs.outcome_attempts(info.id).items() if a == 1}
    assert 0 < len(verified_before) < ROWS * COLS

    proc = start_subprocess(store, port, log)
    try:
        wait_up(url, proc)
        with httpx.Client(base_url=url, timeout=10) as c:
            done = _wait(c, job["id"], lambda j: j["state"] in ("succeeded", "failed", "cancelled"), 90)
            second = _wait(c, queued["id"], lambda j: j["state"] in ("succeeded", "failed", "cancelled"), 30)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)

    assert done["state"] == "succeeded", (done, log.read_text()[-2000:])
    assert done["attempts"] == 2
    assert done["run_id"] == info.id
    assert second["state"] == "succeeded"
    assert second["attempts"] == 1
    # nothing lost: every cell has its outcome, in one run
    outcomes = runs.outcome_attempts(info.id)
    assert len(outcomes) == ROWS * COLS
    # no verified cell re-pulsed: attempt 2 pulsed only cells without an outcome from attempt 1
    ev = runs.event_arrays(info.id, "pulse")
    second_attempt = {(int(r), int(c)) for r, c in zip(ev["row"][ev["attempt"] == 2], ev["col"][ev["attempt"] == 2],
                                                       strict=True)}
    assert second_attempt, "the resumed attempt did pulse the remaining cells"
    assert not second_attempt & verified_before
    assert np.all(ev["attempt"] >= 1)
    assert {a for a in outcomes.values()} == {1, 2}
