"""A real uvicorn server on loopback running the service, in the test's event loop (or as a subprocess)."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from labctl.service import BenchEntry, ServiceConfig, create_app
from labctl.service.state import ServiceState


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Running:
    url: str
    app: FastAPI

    @property
    def state(self) -> ServiceState:
        st: ServiceState = self.app.state.service
        return st


@asynccontextmanager
async def serve(store: Path, benches: tuple[str, ...] = ("a",), token: str | None = None,
                **config: Any) -> AsyncIterator[Running]:
    """Start the service (real uvicorn, real simulated benches) on a free loopback port; stop it on exit."""
    cfg = ServiceConfig(benches=[BenchEntry(name=n) for n in benches], **config)
    app = create_app(cfg, store, token=token)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                                           ws="none", timeout_graceful_shutdown=5))
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 60
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server exited during start-up")
        if time.monotonic() > deadline:
            raise TimeoutError("server did not start in 60 s")
        await asyncio.sleep(0.02)
    try:
        yield Running(f"http://127.0.0.1:{port}", app)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


async def sse(client: httpx.AsyncClient, job_id: str, stream: str = "events",
              params: dict[str, Any] | None = None) -> AsyncIterator[tuple[str, Any]]:
    """The job's server-sent events (``/jobs/{id}/<stream>``), parsed."""
    async with client.stream("GET", f"/jobs/{job_id}/{stream}", params=params,
                             timeout=httpx.Timeout(60, read=60)) as r:
        assert r.status_code == 200, r.status_code
        assert r.headers["content-type"].startswith("text/event-stream")
        event, data = "message", list[str]()
        async for line in r.aiter_lines():
            if not line:
                if data:
                    yield event, json.loads("\n".join(data))
                event, data = "message", []
            elif line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())


async def wait_state(client: httpx.AsyncClient, job_id: str, states: set[str], limit_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + limit_s
    while True:
        job: dict[str, Any] = (await client.get(f"/jobs/{job_id}")).json()
        if job["state"] in states:
            return job
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still {job['state']} after {limit_s} s")
        await asyncio.sleep(0.05)


def program_job(bench: str, rows: int, cols: int, **extra: Any) -> dict[str, Any]:
    return {"protocol": "program", "bench": bench,
            "params": {"random_levels": 4, "shape": [rows, cols], "seed": 1, **extra}}


def start_subprocess(store: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """``labctl serve`` as a child process (for kill -9)."""
    with log.open("ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "labctl", "serve", "--store", str(store), "--port", str(port), "--log-level",
             "warning"],
            stdout=out, stderr=subprocess.STDOUT,
        )


def wait_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"service exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/status", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError("service did not come up")


@contextmanager
def serve_in_thread(store: Path, benches: tuple[str, ...] = ("a",), token: str | None = None,
                    **config: Any) -> Iterator[Running]:
    """The same server in a thread of its own (for synchronous clients such as schemathesis)."""
    cfg = ServiceConfig(benches=[BenchEntry(name=n) for n in benches], **config)
    app = create_app(cfg, store, token=token)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                                           ws="none", timeout_graceful_shutdown=5))
    thread = threading.Thread(target=server.run, name="service", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.02)
    try:
        yield Running(f"http://127.0.0.1:{port}", app)
    finally:
        server.should_exit = True
        thread.join(30)
