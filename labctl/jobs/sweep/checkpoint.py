"""The simulated chip's physics, saved beside its journal so that a chip outlives the worker running it.

On a real bench the chip keeps its state when the controller dies; a simulated chip lives in the worker's
process. ``ChipState.save`` writes the physics of every crossbar and the virtual clock after each cell outcome
(the journal has committed the outcome just before: ``Progress`` follows ``CellOutcome``); a retried chip
restores it before resuming its run from the journal. A kill between the journal's commit and the save loses
the last pulses of that one cell from the physics (``lost_cells`` counts such cells; they are not pulsed again).
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np


class ChipState:
    """Two slot files ``<path>.0`` / ``<path>.1`` written in turn, each: a 16-byte header (sequence number, CRC-32
    and length of the body), then the body: a JSON line (plain values, and the dtype and size of each array),
    then the arrays' raw bytes. ``load`` takes the valid slot with the highest sequence number, so a process
    killed in the middle of a save leaves the previous save intact. Writes go to the page cache (``pwrite``, no
    fsync): the state outlives the process, as the chip would; a power cut is not its concern."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seq = 0
        self._fds: list[int] = []

    def _slot(self, k: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{k}")

    def save(self, sim_bench: Any, done: int) -> None:
        """Save the bench's physics; ``done`` = cells with an outcome in the journal at this point."""
        st = sim_bench.get_state()
        meta: dict[str, Any] = {"clock": st["clock"], "synced": st["synced"], "done": int(done), "arrays": {}}
        blobs = []
        for n, a in st["arrays"].items():
            plain, arrays = {}, []
            for k, v in a.items():
                if isinstance(v, np.ndarray):
                    v = np.ascontiguousarray(v)
                    arrays.append([k, v.dtype.str, int(v.size)])
                    blobs.append(v.tobytes())
                else:
                    plain[k] = v
            meta["arrays"][n] = {"plain": plain, "blobs": arrays}
        body = b"".join([json.dumps(meta).encode(), b"\n", *blobs])
        if not self._fds:
            self._seq = self._latest()[0]
            self._fds = [os.open(self._slot(k), os.O_WRONLY | os.O_CREAT, 0o644) for k in (0, 1)]
        self._seq += 1
        os.pwrite(self._fds[self._seq % 2], _HEAD.pack(self._seq, zlib.crc32(body), len(body)) + body, 0)

    def close(self) -> None:
        for fd in self._fds:
            os.close(fd)
        self._fds = []

    def _latest(self) -> tuple[int, bytes | None]:
        best: tuple[int, bytes | None] = (0, None)
        for k in (0, 1):
            try:
                data = self._slot(k).read_bytes()
            except FileNotFoundError:
                continue
            if len(data) < _HEAD.size:
                continue
            seq, crc, n = _HEAD.unpack_from(data)
            body = data[_HEAD.size:_HEAD.size + n]
            if len(body) == n and zlib.crc32(body) == crc and seq > best[0]:
                best = (seq, body)
        return best

    def load(self, sim_bench: Any) -> int | None:
        """Restore the latest valid save into ``sim_bench``; the ``done`` count saved with it (None: none)."""
        seq, data = self._latest()
        if data is None:
            return None
        self._seq = seq
        end = data.index(b"\n")
        meta = json.loads(data[:end])
        pos, arrays = end + 1, {}
        for n, m in meta["arrays"].items():
            a = dict(m["plain"])
            for k, dtype, size in m["blobs"]:
                v = np.frombuffer(data, np.dtype(dtype), int(size), pos)
                pos += v.nbytes
                a[k] = v.copy()
            arrays[n] = a
        sim_bench.set_state({"clock": meta["clock"], "synced": meta["synced"], "arrays": arrays})
        return int(meta["done"])


_HEAD = struct.Struct("<QII")
