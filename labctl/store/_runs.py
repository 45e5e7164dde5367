"""``RunStore``: one directory per run under a root, each holding its SQLite journal."""

from __future__ import annotations

import glob
import json
import os
import re
import secrets
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from labctl.core.errors import StoreError
from labctl.core.records import CellOutcome, CellStatus
from labctl.store._codec import dumps, unpack_arrays
from labctl.store._journal import Journal
from labctl.store._schema import JOURNAL_FILE, SCHEMA_VERSION, connect

RUN_STATUSES = ("created", "running", "completed", "failed", "cancelled", "interrupted")
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,80}$")


@dataclass(frozen=True)
class RunInfo:
    """One stored run (without its records)."""

    id: str
    protocol: str
    crossbar: str
    status: str
    params: dict[str, Any]
    created: float
    updated: float
    attempts: int
    progress_done: int
    progress_total: int
    message: str
    error: str | None
    path: Path
    snapshot: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_dict(self, snapshot: bool = False) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "snapshot"}
        d["path"] = str(self.path)
        if snapshot:
            d["snapshot"] = self.snapshot
        return d


@dataclass(frozen=True)
class MapArrays:
    """A stored map: conductance (S), targets (S, NaN where none), status (strings), read voltage (V)."""

    conductance: np.ndarray
    targets: np.ndarray
    status: np.ndarray
    read_voltage: float
    name: str = ""
    extra: dict[str, np.ndarray] = field(default_factory=dict)


class RunStore:
    """Runs under ``root``: ``root/<run id>/journal.sqlite``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    # -- runs ---------------------------------------------------------------------------------------
    def new_run_id(self, protocol: str) -> str:
        return f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{protocol}-{secrets.token_hex(3)}"

    def create_run(
        self,
        protocol: str,
        params: dict[str, Any],
        snapshot: dict[str, Any],
        *,
        crossbar: str = "xbar0",
        run_id: str | None = None,
    ) -> RunInfo:
        """Create a run atomically (built in a hidden directory, then renamed into place)."""
        run_id = run_id or self.new_run_id(protocol)
        if not _ID_RE.match(run_id):
            raise StoreError(f"run id = {run_id!r} is invalid; allowed: letters, digits, '_', '.', '-' (<= 81)")
        final = self.root / run_id
        if final.exists():
            raise StoreError(f"run {run_id!r} already exists in {str(self.root)!r}")
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".{run_id}.{secrets.token_hex(4)}.partial"
        tmp.mkdir()
        try:
            con = connect(tmp / JOURNAL_FILE, create=True)
            now = time.time()
            with con:
                con.execute(
                    "INSERT INTO run (id, protocol, crossbar, params, snapshot, status, created, updated, "
                    "schema_version) VALUES (?, ?, ?, ?, ?, 'created', ?, ?, ?)",
                    (run_id, protocol, crossbar, dumps(params), dumps(snapshot), now, now, SCHEMA_VERSION),
                )
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            con.close()
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return self.get_run(run_id)

    def list_runs(self) -> list[RunInfo]:
        """Every run under the root, oldest first."""
        if not self.root.is_dir():
            return []
        runs = []
        for d in sorted(self.root.iterdir()):
            if d.name.startswith(".") or not (d / JOURNAL_FILE).is_file():
                continue
            try:
                runs.append(self.get_run(d.name))
            except StoreError:
                continue
        return sorted(runs, key=lambda r: (r.created, r.id))

    def resolve(self, run_id: str) -> str:
        """The full id of ``run_id`` or of the only run whose id starts with it (``StoreError`` otherwise)."""
        if _ID_RE.match(run_id) and (self.root / run_id / JOURNAL_FILE).is_file():
            return run_id
        found = sorted(d.name for d in self.root.glob(f"{glob.escape(run_id)}*")
                       if not d.name.startswith(".") and (d / JOURNAL_FILE).is_file()) if self.root.is_dir() else []
        if len(found) == 1:
            return found[0]
        if found:
            raise StoreError(f"run id prefix {run_id!r} is ambiguous in {str(self.root)!r}: {', '.join(found[:5])}"
                             + (" ..." if len(found) > 5 else ""))
        raise StoreError(f"run {run_id!r} not found in {str(self.root)!r} (`labctl runs list --store "
                         f"{self.root}` lists them)")

    def get_run(self, run_id: str) -> RunInfo:
        with self._open(run_id) as con:
            row = con.execute(
                "SELECT id, protocol, crossbar, status, params, created, updated, attempts, progress_done, "
                "progress_total, message, error, snapshot FROM run"
            ).fetchone()
        if row is None:
            raise StoreError(f"run {run_id!r}: journal has no run row")
        return RunInfo(
            id=row[0], protocol=row[1], crossbar=row[2], status=row[3], params=json.loads(row[4]),
            created=row[5], updated=row[6], attempts=row[7], progress_done=row[8], progress_total=row[9],
            message=row[10], error=row[11], path=self.root / run_id, snapshot=json.loads(row[12]),
        )

    def set_status(self, run_id: str, status: str, error: str | None = None) -> None:
        if status not in RUN_STATUSES:
            raise StoreError(f"status = {status!r} is invalid; allowed: {', '.join(RUN_STATUSES)}")
        with self._open(run_id) as con, con:
            con.execute("UPDATE run SET status = ?, error = ?, updated = ?", (status, error, time.time()))

    def delete_run(self, run_id: str) -> None:
        path = self._path(run_id)
        shutil.rmtree(path.parent)

    @contextmanager
    def journal(self, run_id: str, batch: int = 4096) -> Iterator[Journal]:
        """Open the run for appending: a new attempt (1 for the first run, 2 after one resume, ...)."""
        con = connect(self._path(run_id))
        try:
            with con:
                con.execute("UPDATE run SET attempts = attempts + 1, status = 'running', error = NULL, updated = ?",
                            (time.time(),))
            attempt = int(con.execute("SELECT attempts, crossbar FROM run").fetchone()[0])
            crossbar = str(con.execute("SELECT crossbar FROM run").fetchone()[0])
            j = Journal(con, run_id, crossbar, attempt, batch=batch)
            try:
                yield j
            finally:
                j.close()
        finally:
            con.close()

    # -- records ------------------------------------------------------------------------------------
    def events(self, run_id: str, offset: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        """Pulses and reads in journal order, one page (``offset`` >= 0, 1 <= ``limit`` <= 100000)."""
        if offset < 0:
            raise StoreError(f"offset = {offset!r} is out of range; allowed [0, +inf)")
        if not 1 <= limit <= 100_000:
            raise StoreError(f"limit = {limit!r} is out of range; allowed [1, 100000]")
        cols = ("seq", "type", "row", "col", "volts", "width", "current", "t", "kind", "scheme", "attempt")
        with self._open(run_id) as con:
            rows = con.execute(
                f"SELECT {', '.join(cols)} FROM events ORDER BY seq LIMIT ? OFFSET ?", (limit, offset)
            ).fetchall()
        return [dict(zip(cols, r, strict=True)) for r in rows]

    def event_arrays(self, run_id: str, type_: str | None = None) -> dict[str, np.ndarray]:
        """All pulses and/or reads as column arrays (for analysis and export)."""
        where = "WHERE type = ?" if type_ else ""
        args: tuple[Any, ...] = (type_,) if type_ else ()
        with self._open(run_id) as con:
            rows = con.execute(
                f"SELECT seq, type, row, col, volts, width, current, t, kind, scheme, attempt FROM events {where} "
                "ORDER BY seq", args
            ).fetchall()
        names = ("seq", "type", "row", "col", "volts", "width", "current", "t", "kind", "scheme", "attempt")
        out: dict[str, np.ndarray] = {}
        for i, n in enumerate(names):
            vals = [r[i] for r in rows]
            if n in ("type", "kind", "scheme"):
                out[n] = np.array(["" if v is None else v for v in vals], dtype=str)
            elif n in ("seq", "row", "col", "attempt"):
                out[n] = np.array(vals, dtype=np.int64)
            else:
                out[n] = np.array([np.nan if v is None else v for v in vals], dtype=np.float64)
        return out

    def outcomes(self, run_id: str) -> dict[tuple[int, int], CellOutcome]:
        """Final per-cell outcomes ((row, col) -> outcome); what a resume skips."""
        with self._open(run_id) as con:
            rows = con.execute("SELECT row, col, status, target, conductance, pulses FROM outcomes").fetchall()
        return {
            (r[0], r[1]): CellOutcome(r[0], r[1], CellStatus(r[2]), r[3], np.nan if r[4] is None else r[4], r[5])
            for r in rows
        }

    def outcome_attempts(self, run_id: str) -> dict[tuple[int, int], int]:
        with self._open(run_id) as con:
            return {(r[0], r[1]): r[2] for r in con.execute("SELECT row, col, attempt FROM outcomes")}

    def inferences(self, run_id: str) -> list[dict[str, Any]]:
        with self._open(run_id) as con:
            rows = con.execute("SELECT seq, t, row_volts, cols, currents, attempt FROM inferences ORDER BY seq")
            return [
                {"seq": r[0], "t": r[1], "row_volts": json.loads(r[2]), "cols": json.loads(r[3]),
                 "currents": json.loads(r[4]), "attempt": r[5]}
                for r in rows
            ]

    def results(self, run_id: str) -> list[tuple[str, dict[str, Any]]]:
        with self._open(run_id) as con:
            return [(r[0], json.loads(r[1])) for r in con.execute("SELECT name, data FROM results ORDER BY seq")]

    def map_names(self, run_id: str) -> list[tuple[str, str]]:
        """(crossbar, name) of every stored map, in order."""
        with self._open(run_id) as con:
            return [(r[0], r[1]) for r in con.execute("SELECT crossbar, name FROM maps ORDER BY seq")]

    def load_map(self, run_id: str, crossbar: str | None = None, name: str | None = None) -> MapArrays:
        """The latest map of ``crossbar`` (the run's crossbar by default), optionally by name."""
        sql = "SELECT name, read_voltage, arrays FROM maps WHERE crossbar = ?"
        with self._open(run_id) as con:
            xb = crossbar or con.execute("SELECT crossbar FROM run").fetchone()[0]
            args: tuple[Any, ...] = (xb,)
            if name is not None:
                sql += " AND name = ?"
                args += (name,)
            row = con.execute(sql + " ORDER BY seq DESC LIMIT 1", args).fetchone()
        if row is None:
            what = f" named {name!r}" if name else ""
            raise StoreError(f"run {run_id!r} has no map{what} of crossbar {xb!r}")
        return _map_arrays(row[0], row[1], row[2])

    def load_maps(self, run_id: str) -> list[tuple[str, MapArrays]]:
        """Every stored map in order, as (crossbar, map)."""
        with self._open(run_id) as con:
            rows = con.execute("SELECT crossbar, name, read_voltage, arrays FROM maps ORDER BY seq").fetchall()
        return [(r[0], _map_arrays(r[1], r[2], r[3])) for r in rows]

    def export(self, run_id: str, fmt: str = "hdf5", out: str | os.PathLike[str] | None = None) -> Path:
        """Export a run: ``hdf5`` (one file), ``csv`` (a directory) or ``npz`` (the latest map)."""
        from labctl.store._export import export_run

        return export_run(self, run_id, fmt, Path(out) if out is not None else None)

    # -- internals ----------------------------------------------------------------------------------
    def _path(self, run_id: str) -> Path:
        if not _ID_RE.match(run_id):
            raise StoreError(f"run id = {run_id!r} is invalid")
        path = self.root / run_id / JOURNAL_FILE
        if not path.is_file():
            raise StoreError(f"run {run_id!r} not found in {str(self.root)!r}")
        return path

    @contextmanager
    def _open(self, run_id: str) -> Iterator[sqlite3.Connection]:
        con = connect(self._path(run_id))
        try:
            yield con
        except sqlite3.Error as exc:
            raise StoreError(f"run {run_id!r}: journal read failed: {exc}") from exc
        finally:
            con.close()


def _map_arrays(name: str, read_voltage: float, blob: bytes) -> MapArrays:
    arrays = unpack_arrays(blob)
    g = arrays["conductance"].astype(np.float64)
    targets = arrays.get("targets", np.full(g.shape, np.nan))
    status = arrays.get("status", np.full(g.shape, "", dtype="<U9"))
    extra = {k[len("extra_"):]: v for k, v in arrays.items() if k.startswith("extra_")}
    return MapArrays(g, targets.astype(np.float64), status.astype(str), float(read_voltage), str(name), extra)
