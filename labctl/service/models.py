"""The API's response models (request models for job submission are in ``submit``)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class JobState(StrEnum):
    """Life of a job: queued -> running -> succeeded | failed | cancelled.

    A running job interrupted by a shutdown or a crash goes back to ``queued`` and resumes from its run.
    """

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


class JobKind(StrEnum):
    PROTOCOL = "protocol"
    TRAIN = "train_letters"
    SYNC = "sync"
    SWEEP = "sweep"


class ProgressView(BaseModel):
    done: int = Field(description="Units done (cells, epochs, ...)")
    total: int = Field(description="Units in all")
    message: str = ""
    extra: dict[str, float] = Field(default_factory=dict)


class JobView(BaseModel):
    """A job as the API shows it."""

    model_config = ConfigDict(extra="forbid")

    id: str
    seq: int = Field(description="Submission order (FIFO within a lane)")
    kind: JobKind
    lane: str = Field(description="Where it queues: a bench name, or 'trainer' for train/sync jobs")
    protocol: str | None = None
    crossbar: str | None = None
    params: dict[str, Any]
    state: JobState
    run_id: str | None = Field(default=None, description="The journal run this job writes (protocol jobs)")
    attempts: int = Field(description="Times the job has started (> 1 after a resume)")
    progress: ProgressView | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    created: float = Field(description="Unix time, s")
    started: float | None = None
    finished: float | None = None


class JobPage(BaseModel):
    jobs: list[JobView]
    total: int


class InstrumentView(BaseModel):
    name: str
    status: dict[str, Any]


class BenchView(BaseModel):
    name: str
    crossbars: dict[str, dict[str, int]] = Field(description="crossbar name -> {rows, cols}")
    running_job: str | None = None
    queued_jobs: int
    snapshot: dict[str, Any] | None = Field(default=None, description="Instrument identities, settings and limits")


class ServiceInfo(BaseModel):
    version: str
    benches: list[str]
    protocols: list[str]
    lanes: dict[str, int] = Field(description="lane -> queued jobs")
