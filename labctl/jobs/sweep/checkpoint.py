"""The simulated chip's physics, saved beside its journal so that a chip outlives the worker running it.

On a real bench the chip keeps its state when the controller dies; a simulated chip lives in the worker's
process. ``ChipState.save`` writes the physics of every crossbar and the virtual clock after each cell outcome
(the journal has committed the outcome just before: ``Progress`` follows ``CellOutcome``); a retried chip
restores it before resuming its run from the journal. A kill between the journal's commit and the save loses
the last pulses of that one cell from the physics (``lost_cells`` counts such cells; they are not pulsed again).
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np


class ChipState:
    """``<chip dir>/physics.npz``: written atomically (temp file + rename)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def save(self, sim_bench: Any, done: int) -> None:
        """Save the bench's physics; ``done`` = cells with an outcome in the journal at this point."""
        st = sim_bench.get_state()
        meta = {"clock": st["clock"], "synced": st["synced"], "done": int(done),
                "arrays": {n: {"time": a["time"], "rng": a["rng"]} for n, a in st["arrays"].items()}}
        arrays = {f"{n}.{k}": a[k] for n, a in st["arrays"].items() for k in ("x", "age")}
        buf = io.BytesIO()
        np.savez(buf, meta=np.array(json.dumps(meta)), **arrays)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        tmp.write_bytes(buf.getvalue())
        os.replace(tmp, self.path)

    def load(self, sim_bench: Any) -> int | None:
        """Restore the saved physics into ``sim_bench``; the ``done`` count saved with it (None: no state)."""
        if not self.path.is_file():
            return None
        with np.load(self.path) as z:
            meta = json.loads(str(z["meta"]))
            arrays = {n: {"x": z[f"{n}.x"], "age": z[f"{n}.age"], **m} for n, m in meta["arrays"].items()}
        sim_bench.set_state({"clock": meta["clock"], "synced": meta["synced"], "arrays": arrays})
        return int(meta["done"])
