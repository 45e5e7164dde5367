"""SQLite schema of one run's journal and the connection settings (WAL, NORMAL sync)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

JOURNAL_FILE = "journal.sqlite"
SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS run (
    id TEXT PRIMARY KEY,
    protocol TEXT NOT NULL,
    crossbar TEXT NOT NULL,
    params TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    progress_done INTEGER NOT NULL DEFAULT 0,
    progress_total INTEGER NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    error TEXT,
    schema_version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    row INTEGER NOT NULL,
    col INTEGER NOT NULL,
    volts REAL NOT NULL,
    width REAL,
    current REAL,
    t REAL NOT NULL,
    kind TEXT NOT NULL,
    scheme TEXT,
    attempt INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_cell ON events(row, col);
CREATE TABLE IF NOT EXISTS outcomes (
    row INTEGER NOT NULL,
    col INTEGER NOT NULL,
    status TEXT NOT NULL,
    target REAL NOT NULL,
    conductance REAL NOT NULL,
    pulses INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    PRIMARY KEY (row, col)
);
CREATE TABLE IF NOT EXISTS inferences (
    seq INTEGER PRIMARY KEY,
    t REAL NOT NULL,
    row_volts TEXT NOT NULL,
    cols TEXT NOT NULL,
    currents TEXT NOT NULL,
    attempt INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS maps (
    seq INTEGER PRIMARY KEY,
    crossbar TEXT NOT NULL,
    name TEXT NOT NULL,
    read_voltage REAL NOT NULL,
    arrays BLOB NOT NULL,
    attempt INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    seq INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    data TEXT NOT NULL,
    attempt INTEGER NOT NULL
);
"""


def connect(path: Path, *, create: bool = False) -> sqlite3.Connection:
    """Open a journal: WAL mode, ``synchronous=NORMAL`` (a committed transaction survives kill -9)."""
    if not create and not path.exists():
        from labctl.core.errors import StoreError

        raise StoreError(f"journal {str(path)!r} does not exist")
    con = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("PRAGMA busy_timeout=30000")
    if create:
        con.executescript(SCHEMA)
    return con
