"""The job table: jobs persist in SQLite (WAL) in the store folder, so they survive restarts.

Writes are small and happen on the event loop (WAL, ``synchronous=NORMAL``: no fsync per commit). Every write
bumps ``JobDB.version``, so what is built from the table (the service's cached answers) knows when it is stale.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

from labctl.core.errors import StoreError
from labctl.service.models import JobKind, JobState, JobView, ProgressView

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    kind TEXT NOT NULL,
    lane TEXT NOT NULL,
    protocol TEXT,
    crossbar TEXT,
    params TEXT NOT NULL,
    state TEXT NOT NULL,
    run_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    progress TEXT,
    result TEXT,
    error TEXT,
    created REAL NOT NULL,
    started REAL,
    finished REAL
);
CREATE INDEX IF NOT EXISTS jobs_lane_state ON jobs(lane, state, seq);
"""

_COLS = "seq, id, kind, lane, protocol, crossbar, params, state, run_id, attempts, progress, result, error, " \
        "created, started, finished"


class JobDB:
    """Persistent jobs. One connection, used from the event loop thread only."""

    FILENAME = "jobs.sqlite"

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        #: write counter: changes whenever a row may have changed (this process is the table's only writer)
        self.version = 0
        self.path = root / self.FILENAME
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(f"job table {self.path} cannot be opened: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    def _write(self, sql: str, args: tuple[Any, ...]) -> sqlite3.Cursor:
        self.version += 1
        return self._db.execute(sql, args)

    def add(self, *, kind: JobKind, lane: str, protocol: str | None, crossbar: str | None,
            params: dict[str, Any]) -> JobView:
        job_id = uuid.uuid4().hex[:12]
        self._write(
            "INSERT INTO jobs (id, kind, lane, protocol, crossbar, params, state, created) VALUES (?,?,?,?,?,?,?,?)",
            (job_id, kind.value, lane, protocol, crossbar, json.dumps(params), JobState.QUEUED.value, time.time()),
        )
        job = self.get(job_id)
        assert job is not None
        return job

    def get(self, job_id: str) -> JobView | None:
        row = self._db.execute(f"SELECT {_COLS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _view(row) if row else None

    def with_prefix(self, prefix: str, limit: int = 2) -> list[JobView]:
        """Jobs whose id starts with ``prefix`` (at most ``limit``; hex digits only, so no LIKE wildcards)."""
        if not prefix or any(c not in "0123456789abcdef" for c in prefix):
            return []
        rows = self._db.execute(f"SELECT {_COLS} FROM jobs WHERE id LIKE ? ORDER BY seq LIMIT ?",
                                (prefix + "%", limit)).fetchall()
        return [_view(r) for r in rows]

    def page(self, *, state: JobState | None = None, lane: str | None = None, limit: int = 100,
             offset: int = 0) -> tuple[list[JobView], int]:
        where, args = _filters(state, lane)
        total = self._db.execute(f"SELECT COUNT(*) FROM jobs {where}", args).fetchone()[0]
        rows = self._db.execute(
            f"SELECT {_COLS} FROM jobs {where} ORDER BY seq DESC LIMIT ? OFFSET ?", (*args, limit, offset)
        ).fetchall()
        return [_view(r) for r in rows], int(total)

    def count(self, *, state: JobState, lane: str | None = None) -> int:
        where, args = _filters(state, lane)
        return int(self._db.execute(f"SELECT COUNT(*) FROM jobs {where}", args).fetchone()[0])

    def next_queued(self, lane: str) -> JobView | None:
        row = self._db.execute(
            f"SELECT {_COLS} FROM jobs WHERE lane = ? AND state = ? ORDER BY seq LIMIT 1",
            (lane, JobState.QUEUED.value),
        ).fetchone()
        return _view(row) if row else None

    def mark_running(self, job_id: str) -> None:
        self._write(
            "UPDATE jobs SET state = ?, started = ?, attempts = attempts + 1, error = NULL WHERE id = ?",
            (JobState.RUNNING.value, time.time(), job_id),
        )

    def set_run(self, job_id: str, run_id: str) -> None:
        self._write("UPDATE jobs SET run_id = ? WHERE id = ?", (run_id, job_id))

    def set_progress(self, job_id: str, progress: ProgressView) -> None:
        self._write("UPDATE jobs SET progress = ? WHERE id = ?", (progress.model_dump_json(), job_id))

    def finish(self, job_id: str, state: JobState, *, result: dict[str, Any] | None = None,
               error: str | None = None) -> None:
        self._write(
            "UPDATE jobs SET state = ?, finished = ?, result = ?, error = ? WHERE id = ?",
            (state.value, time.time(), json.dumps(result) if result is not None else None, error, job_id),
        )

    def cancel_if_queued(self, job_id: str) -> bool:
        cur = self._write(
            "UPDATE jobs SET state = ?, finished = ? WHERE id = ? AND state = ?",
            (JobState.CANCELLED.value, time.time(), job_id, JobState.QUEUED.value),
        )
        return cur.rowcount == 1

    def requeue(self, job_id: str, note: str) -> None:
        """A running job interrupted by shutdown goes back to the queue (it resumes from its run)."""
        self._write(
            "UPDATE jobs SET state = ?, error = ? WHERE id = ?", (JobState.QUEUED.value, note, job_id)
        )

    def recover(self) -> list[str]:
        """After a crash: every job still marked running goes back to the queue. Returns their ids."""
        rows = self._db.execute("SELECT id FROM jobs WHERE state = ?", (JobState.RUNNING.value,)).fetchall()
        for (job_id,) in rows:
            self.requeue(job_id, "interrupted by a crash; resumed from the journal")
        return [r[0] for r in rows]


def _filters(state: JobState | None, lane: str | None) -> tuple[str, tuple[Any, ...]]:
    conds: list[str] = []
    args: list[Any] = []
    if state is not None:
        conds.append("state = ?")
        args.append(state.value)
    if lane is not None:
        conds.append("lane = ?")
        args.append(lane)
    return ("WHERE " + " AND ".join(conds)) if conds else "", tuple(args)


def _view(row: tuple[Any, ...]) -> JobView:
    (seq, job_id, kind, lane, protocol, crossbar, params, state, run_id, attempts, progress, result, error,
     created, started, finished) = row
    return JobView(
        id=job_id, seq=seq, kind=JobKind(kind), lane=lane, protocol=protocol, crossbar=crossbar,
        params=json.loads(params), state=JobState(state), run_id=run_id, attempts=attempts,
        progress=ProgressView.model_validate_json(progress) if progress else None,
        result=json.loads(result) if result else None, error=error, created=created, started=started,
        finished=finished,
    )
