"""Job lanes: one worker per bench (one running job per bench, benches in parallel) and one for the trainer.

Jobs are taken FIFO from the persistent job table. A running job is an asyncio task:
- ``cancel`` by a user cancels it; the protocol leaves the bench safe and the scheduler drives it to its
  safe state once more (shielded) before the job is marked cancelled;
- a shutdown cancels it too, but the job goes back to ``queued`` and resumes from its run on the next start;
- after a crash, ``JobDB.recover`` does the same for jobs left ``running``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from labctl.core.errors import JobError, LabctlError
from labctl.core.records import Progress
from labctl.service.backend import Backend, BenchHandle
from labctl.service.hub import Hub
from labctl.service.jobdb import JobDB
from labctl.service.models import JobKind, JobState, JobView, ProgressView

log = logging.getLogger("labctl.service")

TRAINER_LANE = "trainer"


class QueueFull(JobError):
    """The queue holds ``max_queued_jobs`` already."""


class Scheduler:
    """Owns the lanes' worker tasks and the running jobs' tasks."""

    def __init__(self, db: JobDB, hub: Hub, backend: Backend, benches: dict[str, BenchHandle], *,
                 max_queued: int = 100, persist_interval: float = 0.5) -> None:
        self.db, self.hub, self.backend, self.benches = db, hub, backend, benches
        self.max_queued = max_queued
        self.persist_interval = persist_interval
        self.lanes = [*benches, TRAINER_LANE]
        self._wake = {lane: asyncio.Event() for lane in self.lanes}
        self._workers: list[asyncio.Task[None]] = []
        self._running: dict[str, tuple[str, asyncio.Task[None]]] = {}  # lane -> (job id, task)
        self._user_cancelled: set[str] = set()
        self._last_persist: dict[str, float] = {}
        self.recovered: list[str] = []

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        self.recovered = self.db.recover()
        if self.recovered:
            log.warning("resuming %d job(s) interrupted by a crash: %s", len(self.recovered), self.recovered)
        self._workers = [asyncio.create_task(self._worker(lane), name=f"lane:{lane}") for lane in self.lanes]

    async def stop(self) -> None:
        """Interrupt running jobs (they stay queued and resume on the next start), then stop the workers."""
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []

    # -- API -------------------------------------------------------------------------------------
    def submit(self, kind: JobKind, lane: str, params: dict[str, Any], *, protocol: str | None = None,
               crossbar: str | None = None) -> JobView:
        if lane not in self._wake:
            raise JobError(f"lane = {lane!r} is unknown; allowed: {', '.join(self.lanes)}")
        if self.db.count(state=JobState.QUEUED) >= self.max_queued:
            raise QueueFull(f"queue is full: {self.max_queued} jobs queued (max_queued_jobs); retry later")
        job = self.db.add(kind=kind, lane=lane, protocol=protocol, crossbar=crossbar, params=params)
        self.hub.channel(job.id).publish("state", state_payload(job))
        self._wake[lane].set()
        return job

    async def cancel(self, job_id: str) -> JobView:
        job = self.db.get(job_id)
        if job is None:
            raise KeyError(job_id)
        if self.db.cancel_if_queued(job_id):
            self._publish_state(job_id)
        else:
            running = self._running.get(job.lane)
            if running is not None and running[0] == job_id:
                self._user_cancelled.add(job_id)
                running[1].cancel()
                await asyncio.wait([running[1]])
        out = self.db.get(job_id)
        assert out is not None
        return out

    def running_job(self, lane: str) -> str | None:
        r = self._running.get(lane)
        return r[0] if r else None

    # -- internals -------------------------------------------------------------------------------
    async def _worker(self, lane: str) -> None:
        wake = self._wake[lane]
        while True:
            job = self.db.next_queued(lane)
            if job is None:
                wake.clear()
                await wake.wait()
                continue
            task = asyncio.create_task(self._execute(job), name=f"job:{job.id}")
            self._running[lane] = (job.id, task)
            try:
                await asyncio.wait([task])  # unlike ``await task``, a cancelled job does not stop the lane
            except asyncio.CancelledError:
                # shutdown: interrupt the job (it is requeued by _execute) and wait for it to leave the bench safe
                task.cancel()
                await asyncio.wait([task])
                raise
            finally:
                self._running.pop(lane, None)

    async def _execute(self, job: JobView) -> None:
        self.db.mark_running(job.id)
        self._publish_state(job.id)
        try:
            if job.kind is JobKind.PROTOCOL:
                bench = self.benches[job.lane]
                assert job.protocol is not None
                result = await self.backend.run_protocol(
                    bench, job.protocol, job.params, crossbar=job.crossbar, resume=job.run_id, job_id=job.id,
                    on_progress=lambda p: self._on_progress(job.id, p),
                    on_run=lambda run_id: self.db.set_run(job.id, run_id),
                    on_cell=self.hub.channel(job.id).append_cell,
                )
            else:
                result = await self.backend.run_off_loop(
                    job.kind.value, job.params, lambda p: self._on_progress(job.id, p)
                )
        except asyncio.CancelledError:
            await self._after_cancel(job)
            raise
        except LabctlError as exc:
            self._finish(job.id, JobState.FAILED, error=f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # a bug below us must not kill the lane
            log.exception("job %s failed", job.id)
            self._finish(job.id, JobState.FAILED, error=f"internal error: {type(exc).__name__}: {exc}")
        else:
            self._finish(job.id, JobState.SUCCEEDED, result=result)

    async def _after_cancel(self, job: JobView) -> None:
        bench = self.benches.get(job.lane)
        if bench is not None:
            try:
                await asyncio.shield(bench.safe_state())
            except Exception:
                log.exception("safe state of bench %s after cancelling job %s failed", job.lane, job.id)
        if job.id in self._user_cancelled:
            self._user_cancelled.discard(job.id)
            self._finish(job.id, JobState.CANCELLED, error="cancelled by request; bench in safe state")
        else:
            self.db.requeue(job.id, "interrupted by shutdown; resumes from its run")
            self._publish_state(job.id)

    def _finish(self, job_id: str, state: JobState, *, result: dict[str, Any] | None = None,
                error: str | None = None) -> None:
        self._persist_progress(job_id, force=True)
        self.db.finish(job_id, state, result=result, error=error)
        self._publish_state(job_id)
        self.hub.drop_closed()

    def _on_progress(self, job_id: str, progress: Progress) -> None:
        view = ProgressView(done=progress.done, total=progress.total, message=progress.message,
                            extra=dict(progress.extra))
        self.hub.channel(job_id).publish("progress", view.model_dump())
        self._persist_progress(job_id)

    def _persist_progress(self, job_id: str, force: bool = False) -> None:
        ch = self.hub.get(job_id)
        if ch is None or "progress" not in ch.latest:
            return
        now = time.monotonic()
        if force or now - self._last_persist.get(job_id, 0.0) >= self.persist_interval:
            self._last_persist[job_id] = now
            self.db.set_progress(job_id, ProgressView.model_validate(ch.latest["progress"]))

    def _publish_state(self, job_id: str) -> None:
        job = self.db.get(job_id)
        if job is not None:
            self.hub.channel(job_id).publish("state", state_payload(job), close=job.state.terminal)

    def live_progress(self, job_id: str) -> ProgressView | None:
        ch = self.hub.get(job_id)
        if ch is None or "progress" not in ch.latest:
            return None
        return ProgressView.model_validate(ch.latest["progress"])


def state_payload(job: JobView) -> dict[str, Any]:
    return {"id": job.id, "state": job.state.value, "run_id": job.run_id, "attempts": job.attempts,
            "error": job.error, "result": job.result}
