"""``WorkerBench``: the service's handle on a bench that runs in a worker process (:mod:`.bench_worker`).

It answers ``crossbars()`` from what the worker reported at start-up, forwards ``status``/``safe_state`` as
requests, and runs protocol jobs there (:meth:`WorkerBench.run`), turning the worker's events into the
scheduler's progress and run callbacks. Cancelling :meth:`run` cancels the job in the worker and waits until it
has stopped. Errors come back as the labctl error they were (``ConfigError`` with its field, ...).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from labctl.core import errors as errs
from labctl.core.config import BenchConfig
from labctl.core.limits import SafetyLimits
from labctl.core.records import Progress

log = logging.getLogger("labctl.service")
START_TIMEOUT = 120.0
CANCEL_TIMEOUT = 60.0


class WorkerBench:
    """An open bench in its own process, as the service's ``BenchHandle``."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process, ready: dict[str, Any]) -> None:
        self.name = name
        self.proc = proc
        self.geometry = {n: (int(r), int(c)) for n, (r, c) in ready["crossbars"].items()}
        self.limits = SafetyLimits.model_validate(ready["limits"])
        self._jobs: dict[str, dict[str, Any]] = {}
        self._replies: dict[int, asyncio.Future[Any]] = {}
        self._seq = itertools.count()
        self._reader = asyncio.create_task(self._read(), name=f"bench-worker:{name}")

    @classmethod
    async def start(cls, name: str, config: BenchConfig, store: Path) -> WorkerBench:
        with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="labctl-bench-", delete=False) as f:
            f.write(config.model_dump_json())
        path = Path(f.name)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "labctl.service.bench_worker", str(path), str(store),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=2**24,
        )
        try:
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT)
            ready = json.loads(line) if line else {}
            if ready.get("ev") != "ready":
                raise errs.JobError(f"bench {name}: the worker process did not start (exit {await proc.wait()})")
        except BaseException:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            raise
        finally:
            path.unlink(missing_ok=True)  # noqa: ASYNC240 - a small local file, once per bench at start-up
        return cls(name, proc, ready)

    # -- BenchHandle ------------------------------------------------------------------------------------
    def crossbars(self) -> dict[str, tuple[int, int]]:
        return dict(self.geometry)

    async def status(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._request("status")
        return result

    async def safe_state(self) -> None:
        await self._request("safe_state", reason="service: job cancelled")

    async def physical_state(self) -> dict[str, Any] | None:
        """A simulated bench's own state (sources on, relays closed), asked of the simulator."""
        result: dict[str, Any] | None = await self._request("physical")
        return result

    # -- jobs -------------------------------------------------------------------------------------------
    async def run(self, protocol: str | None, params: dict[str, Any], *, crossbar: str,
                  resume: str | None, run_id: str | None = None, on_progress: Callable[[Progress], None],
                  on_run: Callable[[str], None],
                  on_cell: Callable[[list[Any]], None] | None = None) -> dict[str, Any]:
        """Run one protocol job in the worker; its summary, or the error it raised there. ``on_cell`` gets each
        committed cell outcome as ``[row, col, status, G, target, pulses, t]``."""
        job_id = f"j{next(self._seq)}"
        done: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._jobs[job_id] = {"future": done, "progress": on_progress, "run": on_run, "cell": on_cell}
        try:
            self._send({"op": "run", "id": job_id, "protocol": protocol, "params": params, "crossbar": crossbar,
                        "resume": resume, "run_id": run_id})
            return await asyncio.shield(done)
        except asyncio.CancelledError:
            if not done.done():
                self._send({"op": "cancel", "id": job_id})
                # the worker stops the protocol (its crossbar safe) before the scheduler goes on
                with contextlib.suppress(TimeoutError, asyncio.CancelledError, errs.LabctlError):
                    await asyncio.wait_for(asyncio.shield(done), CANCEL_TIMEOUT)
            raise
        finally:
            self._jobs.pop(job_id, None)

    async def close(self) -> None:
        """End the worker: closing its stdin cancels its jobs and puts the bench in its safe state."""
        if self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 30)
        except TimeoutError:
            log.error("bench %s: worker did not stop in 30 s; killed", self.name)
            self.proc.kill()
            await self.proc.wait()
        self._reader.cancel()

    # -- plumbing ---------------------------------------------------------------------------------------
    def _send(self, msg: dict[str, Any]) -> None:
        if self.proc.stdin is None or self.proc.stdin.is_closing() or self.proc.returncode is not None:
            raise errs.JobError(f"bench {self.name}: the worker process has stopped")
        self.proc.stdin.write((json.dumps(msg) + "\n").encode())

    async def _request(self, op: str, **kw: Any) -> Any:
        req = next(self._seq)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._replies[req] = fut
        try:
            self._send({"op": op, "req": req, **kw})
            return await fut
        finally:
            self._replies.pop(req, None)

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            try:
                self._dispatch(json.loads(line))
            except Exception:
                log.exception("bench %s: bad message from the worker: %r", self.name, line[:200])
        gone = errs.JobError(f"bench {self.name}: the worker process ended (exit {await self.proc.wait()})")
        for job in self._jobs.values():
            if not job["future"].done():
                job["future"].set_exception(gone)
        for fut in self._replies.values():
            if not fut.done():
                fut.set_exception(gone)

    def _dispatch(self, msg: dict[str, Any]) -> None:
        ev = msg.get("ev")
        if ev == "reply":
            fut = self._replies.get(msg.get("req", -1))
            if fut is not None and not fut.done():
                if "error" in msg:
                    fut.set_exception(errs.JobError(f"bench {self.name}: {msg['error']}"))
                else:
                    fut.set_result(msg.get("ok"))
            return
        job = self._jobs.get(msg.get("id", ""))
        if job is None:
            return
        if ev == "progress":
            job["progress"](Progress(msg["done"], msg["total"], msg.get("message", ""), msg.get("extra") or {}))
        elif ev == "run":
            job["run"](msg["run_id"])
        elif ev == "cell":
            if job["cell"] is not None:
                job["cell"](msg["cell"])
        elif not job["future"].done():
            if ev == "done":
                job["future"].set_result(msg["result"])
            elif ev == "cancelled":
                job["future"].set_exception(asyncio.CancelledError())
            elif ev == "error":
                job["future"].set_exception(_error(msg))


def _error(msg: dict[str, Any]) -> Exception:
    """The worker's error as the labctl error it was (message and field kept)."""
    cls = getattr(errs, str(msg.get("type")), None)
    text = str(msg.get("message"))
    if isinstance(cls, type) and issubclass(cls, errs.LabctlError):
        if issubclass(cls, (errs.ConfigError, errs.LimitError)):
            return cls(text, field=msg.get("field"))
        try:
            return cls(text)
        except TypeError:
            return errs.JobError(f"{msg.get('type')}: {text}")
    return RuntimeError(f"{msg.get('type')}: {text}")
