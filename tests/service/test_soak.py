"""A bounded soak: pollers, SSE watchers, submissions and cancels at once for a fixed time, with a kill -9 of the
service and a restart in the middle. Never a 5xx; no job lost or run twice; no verified cell pulsed again."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from labctl.store import RunStore
from tests.service.harness import free_port, program_job, start_subprocess, wait_up

PHASE_S = 4.0  # activity before the kill, and again after the restart
TERMINAL = {"succeeded", "failed", "cancelled"}


class Soak:
    def __init__(self, url: str) -> None:
        self.url = url
        self.submitted: list[str] = []
        self.cancel_asked: set[str] = set()
        self.unsure_submits = 0  # a submission whose answer was lost in the kill
        self.statuses: list[int] = []
        self.sse_events = 0
        self.seed = 0

    def record(self, r: httpx.Response) -> None:
        self.statuses.append(r.status_code)

    async def poller(self, c: httpx.AsyncClient, stop: float, k: int) -> None:
        while time.monotonic() < stop:
            try:
                if k % 2 == 0 or not self.submitted:
                    self.record(await c.get("/status"))
                else:
                    self.record(await c.get(f"/jobs/{self.submitted[-1]}"))
            except httpx.TransportError:
                await asyncio.sleep(0.05)  # the service is down (killed) or starting

    async def submitter(self, c: httpx.AsyncClient, stop: float) -> None:
        while time.monotonic() < stop:
            self.seed += 1
            try:
                r = await c.post("/jobs", json=program_job("sim", 3, 4, seed=self.seed))
            except httpx.TransportError:
                self.unsure_submits += 1
                await asyncio.sleep(0.1)
                continue
            self.record(r)
            if r.status_code == 202:
                self.submitted.append(r.json()["id"])
            await asyncio.sleep(0.25)

    async def canceller(self, c: httpx.AsyncClient, stop: float) -> None:
        while time.monotonic() < stop:
            await asyncio.sleep(0.6)
            if len(self.submitted) < 2:
                continue
            job = self.submitted[-2]  # one that is queued or running by now
            try:
                r = await c.post(f"/jobs/{job}/cancel")
            except httpx.TransportError:
                continue
            self.record(r)
            if r.status_code == 200:
                self.cancel_asked.add(job)

    async def watcher(self, c: httpx.AsyncClient, stop: float) -> None:
        while time.monotonic() < stop:
            if not self.submitted:
                await asyncio.sleep(0.05)
                continue
            try:
                async with c.stream("GET", f"/jobs/{self.submitted[-1]}/events",
                                    timeout=httpx.Timeout(10, read=2)) as r:
                    self.statuses.append(r.status_code)
                    async for line in r.aiter_lines():
                        self.sse_events += line.startswith("event:")
                        if time.monotonic() > stop:
                            break
            except (httpx.TransportError, httpx.StreamError):
                await asyncio.sleep(0.05)

    async def phase(self, seconds: float) -> None:
        stop = time.monotonic() + seconds
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as c:
            await asyncio.gather(*(self.poller(c, stop, k) for k in range(8)), self.submitter(c, stop),
                                 self.canceller(c, stop), self.watcher(c, stop), self.watcher(c, stop))


def _kill_9(proc: subprocess.Popen[bytes]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)


async def _drain(url: str, ids: list[str], limit_s: float) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + limit_s
    async with httpx.AsyncClient(base_url=url, timeout=10) as c:
        while True:
            page = (await c.get("/jobs", params={"limit": 1000})).json()
            jobs = {j["id"]: j for j in page["jobs"]}
            if all(jobs.get(i, {}).get("state") in TERMINAL for i in ids) and \
                    all(j["state"] in TERMINAL for j in jobs.values()):
                return jobs
            if time.monotonic() > deadline:
                pending = {i: j["state"] for i, j in jobs.items() if j["state"] not in TERMINAL}
                raise TimeoutError(f"jobs not finished in {limit_s} s: {pending}")
            await asyncio.sleep(0.2)


@pytest.mark.slow
def test_soak_with_kill_9_and_restart(tmp_path: Path) -> None:
    store, log = tmp_path / "store", tmp_path / "serve.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    soak = Soak(url)
    proc = start_subprocess(store, port, log)
    try:
        wait_up(url, proc)

        async def first() -> None:
            await asyncio.gather(soak.phase(PHASE_S), _kill_after(proc, PHASE_S * 0.75))

        asyncio.run(first())
        assert proc.poll() is not None  # killed mid-activity
        proc = start_subprocess(store, port, log)
        asyncio.run(soak.phase(PHASE_S))  # activity continues while it starts (connection refused until up)
        wait_up(url, proc)
        asyncio.run(soak.phase(PHASE_S))
        jobs = asyncio.run(_drain(url, soak.submitted, 180))
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)

    assert soak.statuses, "no request was answered"
    assert not [s for s in soak.statuses if s >= 500], (sorted(set(soak.statuses)), log.read_text()[-3000:])
    assert soak.sse_events > 0
    assert len(soak.submitted) >= 4
    # no job lost: every accepted job is in the table and finished; the only others are submissions whose
    # answer the kill swallowed
    missing = [i for i in soak.submitted if i not in jobs]
    assert not missing
    assert len(set(jobs) - set(soak.submitted)) <= soak.unsure_submits
    for i, job in jobs.items():
        if i in soak.cancel_asked:
            assert job["state"] == "cancelled", job
        else:
            assert job["state"] in ("succeeded", "cancelled"), job  # cancelled: asked, answer lost in the kill
    # no job run twice: one run per job that started, never shared; a resumed job kept its run
    runs = RunStore(store)
    run_ids = [j["run_id"] for j in jobs.values() if j["run_id"]]
    assert len(run_ids) == len(set(run_ids))
    assert {r.id for r in runs.list_runs()} == set(run_ids)
    # no verified cell pulsed again: after the attempt that verified a cell, no attempt pulsed it
    for j in jobs.values():
        if not j["run_id"] or j["state"] != "succeeded":
            continue
        assert j["result"]["summary"]["cells"] == 12
        verified_in = runs.outcome_attempts(j["run_id"])
        assert len(verified_in) == 12
        ev = runs.event_arrays(j["run_id"], "pulse")
        for r, c, a in zip(ev["row"], ev["col"], ev["attempt"], strict=True):
            assert a <= verified_in[(int(r), int(c))], (j["id"], (int(r), int(c)), int(a))


async def _kill_after(proc: subprocess.Popen[bytes], seconds: float) -> None:
    await asyncio.sleep(seconds)
    _kill_9(proc)
