"""The run journal: SQLite (WAL) in a run directory, one directory per run.

Contract (others rely on it)::

    store = RunStore(root)                       # root/<run id>/journal.sqlite
    info = store.create_run(protocol, params, snapshot, crossbar="xbar0")   # atomic: no partial run dirs
    with store.journal(info.id) as sink:         # one attempt (a resume opens attempt 2, 3, ...)
        sink.emit(record)                        # PulseRecord, ReadRecord, CellOutcome, Progress,
                                                 # InferenceRecord, MapRecord, ResultRecord (labctl.core)
    store.set_status(info.id, "completed")       # created/running/completed/failed/cancelled/interrupted
    store.list_runs(); store.get_run(run_id)     # -> RunInfo (params, snapshot, status, progress)
    store.events(run_id, offset, limit)          # paged pulses and reads (dicts, journal order)
    store.outcomes(run_id)                       # {(row, col): CellOutcome}: what a resume skips
    store.load_map(run_id, crossbar) -> MapArrays(conductance, targets, status, read_voltage)
    store.export(run_id, fmt="hdf5" | "csv" | "npz", out)

Durability: WAL with ``synchronous=NORMAL``. Pulses and reads are buffered and written with
``executemany``; each ``CellOutcome`` commits the cell's records together with the outcome, so a cell
shown as verified has its whole history on disk even after kill -9.

NPZ map export (the trainer imports it): ``conductance`` (rows x cols, S), ``status`` (strings
converged/failed/stuck/pending, "" where not programmed), ``targets`` (S, NaN where none),
``read_voltage`` (0-d, V).
"""

from labctl.store._export import FORMATS, save_map_npz
from labctl.store._journal import Journal
from labctl.store._runs import RUN_STATUSES, MapArrays, RunInfo, RunStore

__all__ = ["FORMATS", "RUN_STATUSES", "Journal", "MapArrays", "RunInfo", "RunStore", "save_map_npz"]
