"""``inference``: vector-matrix products on the array.

Each input vector x (entries in [-1, 1]) drives rows ``row0 .. row0 + len(x) - 1`` (or ``rows[i]`` for entry i)
at ``x * input_volts``
(``input_volts`` <= the read clamp, so no cell ever sees more than the clamp; other rows at 0 V), columns
held at 0 V, and the column currents are measured. Outputs are the currents of ``cols`` (single-ended)
or ``I(pos) - I(neg)`` of each ``pairs`` entry (differential). Emits one ``InferenceRecord`` per vector
and a ``ResultRecord`` "inference" with inputs, volts, currents and outputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field, model_validator

from labctl.core.access import CrossbarAccess
from labctl.core.errors import ConfigError
from labctl.core.records import InferenceRecord, Progress, ResultRecord
from protocols._base import Params, RecordSink, Resume, check_read_volts


class InferenceParams(Params):
    inputs: list[list[float]] | None = Field(None, description="Input vectors, entries in [-1, 1]")
    inputs_file: str | None = Field(None, description="NPZ with array 'inputs' (N x n) or CSV, entries in [-1, 1]")
    input_volts: float = Field(0.1, gt=0, le=1.0, description="Row volts for an input of 1, V (<= read clamp)")
    row0: int = Field(0, ge=0, description="First driven row")
    rows: list[int] | None = Field(None, description="Instead of row0: the row each input entry drives")
    cols: list[int] | None = Field(None, description="Single-ended output columns (all by default)")
    pairs: list[tuple[int, int]] | None = Field(None, description="Differential outputs: (positive, negative) cols")

    @model_validator(mode="after")
    def _one_source(self) -> InferenceParams:
        if (self.inputs is None) == (self.inputs_file is None):
            raise ValueError("give exactly one of 'inputs' or 'inputs_file'")
        if self.cols is not None and self.pairs is not None:
            raise ValueError("give 'cols' (single-ended) or 'pairs' (differential), not both")
        return self


def load_inputs(p: InferenceParams) -> np.ndarray:
    if p.inputs is not None:
        x = np.asarray(p.inputs, dtype=np.float64)
    else:
        path = Path(str(p.inputs_file))
        if not path.is_file():
            raise ConfigError.invalid("inputs_file", str(path), "an existing .npz or .csv file")
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as z:
                x = np.asarray(z["inputs"], dtype=np.float64)
        else:
            x = np.loadtxt(path, delimiter=",", ndmin=2)
    if x.ndim != 2 or x.shape[1] == 0:
        raise ConfigError.invalid("inputs", f"shape {x.shape}", "N vectors of equal length >= 1")
    if not np.isfinite(x).all() or np.abs(x).max() > 1.0:
        raise ConfigError.out_of_range("inputs", float(np.nanmax(np.abs(x))), -1.0, 1.0)
    return x


async def run(
    access: CrossbarAccess, params: InferenceParams, sink: RecordSink, *, resume: Resume | None = None
) -> dict[str, Any]:
    check_read_volts(access, "input_volts", params.input_volts)
    x = load_inputs(params)
    n = x.shape[1]
    rows = list(params.rows) if params.rows is not None else list(range(params.row0, params.row0 + n))
    if params.rows is not None and (len(rows) != n or len(set(rows)) != n):
        raise ConfigError.invalid("rows", rows, f"{n} distinct rows (one per input entry)")
    if not all(0 <= r < access.rows for r in rows):
        raise ConfigError.invalid("inputs", f"{n} entries on rows {rows[0]}..{rows[-1]}", f"rows 0..{access.rows - 1}")
    if params.pairs is not None:
        cols = sorted({c for pair in params.pairs for c in pair})
    else:
        cols = list(params.cols) if params.cols is not None else list(range(access.cols))
    for c in cols:
        if not 0 <= c < access.cols:
            raise ConfigError.out_of_range("cols", c, 0, access.cols - 1)
    volts = x * params.input_volts
    currents = np.empty((x.shape[0], len(cols)))
    for i, vec in enumerate(volts):
        row_volts = [0.0] * access.rows
        for r, v in zip(rows, vec, strict=True):
            row_volts[r] = float(v)
        currents[i] = await access.infer(row_volts, cols)
        sink.emit(InferenceRecord(tuple(row_volts), tuple(cols), tuple(float(c) for c in currents[i]), access.now()))
        sink.emit(Progress(i + 1, x.shape[0], "inference"))
    if params.pairs is not None:
        idx = {c: k for k, c in enumerate(cols)}
        outputs = np.stack([currents[:, idx[p]] - currents[:, idx[q]] for p, q in params.pairs], axis=1)
    else:
        outputs = currents
    sink.emit(ResultRecord("inference", {
        "inputs": x, "input_volts": params.input_volts, "row0": params.row0, "rows": rows, "cols": cols,
        "pairs": params.pairs, "currents": currents, "outputs": outputs,
    }))
    return {"vectors": int(x.shape[0]), "outputs": int(outputs.shape[1]), "max_row_volts": float(np.abs(volts).max())}
