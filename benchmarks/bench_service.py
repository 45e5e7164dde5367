"""Service latency under load, next to the idle baseline measured in the same run.

    .venv/bin/python benchmarks/bench_service.py [--clients 100] [--seconds 5]

Starts ``labctl serve`` (a real uvicorn process on loopback, the embedded simulated bench), then measures:
1. baseline: latency of ``GET /status`` from one client on the idle server;
2. load: the same probe while ``--clients`` clients poll ``GET /jobs/{id}`` as fast as they can and a
   program job runs and streams its progress to an SSE watcher;
3. job submissions per second (one client, sequential; and 10 concurrent clients), next to the idle
   ``GET /status`` rate of one sequential client.
Clients share one process (asyncio, httpx) on the same machine as the server.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def probe(c: httpx.AsyncClient, n: int, pause: float = 0.0) -> np.ndarray:
    lat = []
    for _ in range(n):
        t = time.perf_counter()
        r = await c.get("/status")
        lat.append(time.perf_counter() - t)
        assert r.status_code == 200
        if pause:
            await asyncio.sleep(pause)
    return np.array(lat) * 1e3


def pct(a: np.ndarray) -> str:
    return f"p50 {np.percentile(a, 50):7.2f} ms  p99 {np.percentile(a, 99):7.2f} ms  (n={a.size})"


async def main(clients: int, seconds: float, with_job: bool = True) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "service.yaml"
        cfg.write_text("benches: [{name: sim}]\nmax_queued_jobs: 10000\n")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen([sys.executable, "-m", "labctl", "serve", "--config", str(cfg), "--store",  # noqa: ASYNC220
                                 str(Path(tmp) / "store"), "--port", str(port), "--log-level", "warning"])
        try:
            async with httpx.AsyncClient(base_url=url, timeout=30,
                                         limits=httpx.Limits(max_connections=clients + 20)) as c:
                for _ in range(300):
                    try:
                        if (await c.get("/status")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
                await probe(c, 50)  # warm-up
                idle = await probe(c, 500)
                t0 = time.perf_counter()
                await probe(c, 500)
                idle_rate = 500 / (time.perf_counter() - t0)

                shape = [32, 32] if with_job else [1, 1]
                job = (await c.post("/jobs", json={"protocol": "program", "bench": "sim",
                                                   "params": {"random_levels": 4, "shape": shape}})).json()
                events = 0

                async def watch() -> None:
                    nonlocal events
                    async with c.stream("GET", f"/jobs/{job['id']}/events", timeout=None) as r:
                        async for line in r.aiter_lines():
                            events += line.startswith("event: progress")

                async def poller(stop: float) -> int:
                    n = 0
                    while time.perf_counter() < stop:
                        assert (await c.get(f"/jobs/{job['id']}")).status_code == 200
                        n += 1
                    return n

                watcher = asyncio.create_task(watch())
                await asyncio.sleep(0.5)
                stop = time.perf_counter() + seconds
                pollers = [asyncio.create_task(poller(stop)) for _ in range(clients)]
                loaded = await _probe_until(c, stop)
                polls = sum(await asyncio.gather(*pollers))
                state = (await c.get(f"/jobs/{job['id']}")).json()
                await c.post(f"/jobs/{job['id']}/cancel")
                watcher.cancel()

                n_sub = 300
                body = {"protocol": "program", "bench": "sim", "params": {"random_levels": 4, "shape": [1, 1]}}
                t0 = time.perf_counter()
                for _ in range(n_sub):
                    assert (await c.post("/jobs", json=body)).status_code == 202
                seq_rate = n_sub / (time.perf_counter() - t0)

                async def submitter(k: int) -> None:
                    for _ in range(k):
                        assert (await c.post("/jobs", json=body)).status_code == 202

                t0 = time.perf_counter()
                await asyncio.gather(*(submitter(n_sub // 10) for _ in range(10)))
                par_rate = n_sub / (time.perf_counter() - t0)
        finally:
            proc.terminate()
            proc.wait(30)

    print(f"status latency, idle server (baseline):      {pct(idle)}")
    print(f"status latency, {clients} pollers{' + SSE job' if with_job else ''}:     {pct(loaded)}")
    print(f"  ratio loaded/idle: p50 x{np.percentile(loaded, 50) / np.percentile(idle, 50):.1f}, "
          f"p99 x{np.percentile(loaded, 99) / np.percentile(idle, 99):.1f}")
    print(f"  pollers served {polls / seconds:.0f} req/s; SSE progress events seen: {events}; "
          f"job progress {state['progress']['done'] if state['progress'] else 0}/1024 cells in {seconds:.0f} s")
    print(f"idle GET /status, one sequential client (baseline): {idle_rate:7.0f} req/s")
    print(f"job submissions, one sequential client:            {seq_rate:7.0f} /s  (x{seq_rate / idle_rate:.2f})")
    print(f"job submissions, 10 concurrent clients:            {par_rate:7.0f} /s  (x{par_rate / idle_rate:.2f})")


async def _probe_until(c: httpx.AsyncClient, stop: float) -> np.ndarray:
    lat = []
    while time.perf_counter() < stop:
        t = time.perf_counter()
        assert (await c.get("/status")).status_code == 200
        lat.append(time.perf_counter() - t)
        await asyncio.sleep(0.005)
    return np.array(lat) * 1e3


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--no-job", action="store_true", help="pollers only (no program job streaming)")
    a = ap.parse_args()
    asyncio.run(main(a.clients, a.seconds, not a.no_job))
