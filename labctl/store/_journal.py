"""``Journal``: the record sink of one run, batching writes into SQLite transactions.

Pulses and reads are buffered and written with ``executemany``. A transaction is committed at
every cell outcome, map and result, and every ``batch`` buffered records, so a cell whose
outcome is in the journal has all its pulses and reads committed with it (kill -9 loses at most
the records of cells still in progress, which a resume redoes).
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from labctl.core.errors import StoreError
from labctl.core.records import (
    CellOutcome,
    InferenceRecord,
    MapRecord,
    Progress,
    PulseRecord,
    ReadRecord,
    ResultRecord,
)
from labctl.store._codec import dumps, pack_arrays

_EVENT_SQL = (
    "INSERT INTO events (type, row, col, volts, width, current, t, kind, scheme, attempt) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class Journal:
    """Append records of one run (one attempt). Use as a context manager, or call ``close``."""

    def __init__(self, con: sqlite3.Connection, run_id: str, crossbar: str, attempt: int, batch: int = 4096) -> None:
        self._con = con
        self.run_id = run_id
        self.crossbar = crossbar
        self.attempt = attempt
        self.batch = batch
        self._events: list[tuple[Any, ...]] = []
        self._outcomes: list[tuple[Any, ...]] = []
        self._progress: Progress | None = None
        self._closed = False
        self.counts: dict[str, int] = {"pulse": 0, "read": 0, "outcome": 0, "map": 0, "result": 0, "inference": 0}

    # -- the sink interface -------------------------------------------------------------------------
    def emit(self, record: object) -> None:
        """Take one record; commits at outcomes, maps and results, and every ``batch`` records."""
        if self._closed:
            raise StoreError(f"journal of run {self.run_id!r} is closed")
        if isinstance(record, PulseRecord):
            self._events.append(
                ("pulse", record.row, record.col, record.volts, record.width, _f(record.current), record.t,
                 record.kind, record.scheme, self.attempt)
            )
            self.counts["pulse"] += 1
        elif isinstance(record, ReadRecord):
            self._events.append(
                ("read", record.row, record.col, record.volts, None, _f(record.current), record.t, record.kind,
                 None, self.attempt)
            )
            self.counts["read"] += 1
        elif isinstance(record, CellOutcome):
            self._outcomes.append(
                (record.row, record.col, str(record.status), record.target, _f(record.conductance), record.pulses,
                 self.attempt)
            )
            self.counts["outcome"] += 1
            self.flush()
            return
        elif isinstance(record, Progress):
            self._progress = record
            return
        elif isinstance(record, InferenceRecord):
            self._write_now(
                "INSERT INTO inferences (t, row_volts, cols, currents, attempt) VALUES (?, ?, ?, ?, ?)",
                (record.t, dumps(record.row_volts), dumps(record.cols), dumps(record.currents), self.attempt),
            )
            self.counts["inference"] += 1
            return
        elif isinstance(record, MapRecord):
            arrays = {"conductance": record.conductance, "targets": record.targets, "status": record.status}
            arrays.update({f"extra_{k}": v for k, v in record.extra.items()})
            self._write_now(
                "INSERT INTO maps (crossbar, name, read_voltage, arrays, attempt) VALUES (?, ?, ?, ?, ?)",
                (self.crossbar, record.name, record.read_voltage, pack_arrays(arrays), self.attempt),
            )
            self.counts["map"] += 1
            return
        elif isinstance(record, ResultRecord):
            self._write_now(
                "INSERT INTO results (name, data, attempt) VALUES (?, ?, ?)",
                (record.name, dumps(record.data), self.attempt),
            )
            self.counts["result"] += 1
            return
        else:
            raise StoreError(f"journal cannot store a record of type {type(record).__name__}")
        if len(self._events) >= self.batch:
            self.flush()

    def flush(self) -> None:
        """Write everything buffered in one transaction."""
        if not self._events and not self._outcomes and self._progress is None:
            return
        try:
            with _transaction(self._con):
                if self._events:
                    self._con.executemany(_EVENT_SQL, self._events)
                if self._outcomes:
                    self._con.executemany(
                        "INSERT OR REPLACE INTO outcomes (row, col, status, target, conductance, pulses, attempt) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        self._outcomes,
                    )
                self._touch()
        except sqlite3.Error as exc:
            raise StoreError(f"journal of run {self.run_id!r}: write failed: {exc}") from exc
        self._events.clear()
        self._outcomes.clear()

    def close(self) -> None:
        if not self._closed:
            self.flush()
            self._closed = True

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------------------
    def _write_now(self, sql: str, values: tuple[Any, ...]) -> None:
        try:
            with _transaction(self._con):
                if self._events:
                    self._con.executemany(_EVENT_SQL, self._events)
                    self._events.clear()
                self._con.execute(sql, values)
                self._touch()
        except sqlite3.Error as exc:
            raise StoreError(f"journal of run {self.run_id!r}: write failed: {exc}") from exc

    def _touch(self) -> None:
        if self._progress is not None:
            p = self._progress
            self._con.execute(
                "UPDATE run SET updated = ?, progress_done = ?, progress_total = ?, message = ? WHERE id = ?",
                (time.time(), p.done, p.total, p.message, self.run_id),
            )
            self._progress = None


class _transaction:
    """``BEGIN`` ... ``COMMIT`` (``ROLLBACK`` on error) on an autocommit connection."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self.con = con

    def __enter__(self) -> None:
        self.con.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.con.execute("ROLLBACK" if exc_type is not None else "COMMIT")


def _f(x: float) -> float | None:
    return None if x != x else float(x)


def loads(text: str) -> Any:
    return json.loads(text)
