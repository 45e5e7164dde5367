"""The run journal: SQLite (WAL) in a run directory."""
