"""``iv_sweep``: pulsed I-V sweep of one cell, 0 -> +v_max -> 0 -> -v_min -> 0 in ``step`` volts.

Each point is one pulse of ``width`` seconds (the current measured in the pulse); with ``read_after`` the
cell is also read at the read voltage after each point (its state along the sweep).
Emits every pulse (kind "iv") and read, and a ``ResultRecord`` "iv_sweep" with volts, current, state.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from labctl.core.access import BiasScheme, CrossbarAccess
from labctl.core.records import Progress, ResultRecord
from protocols._base import CellCol, CellRow, Params, ReadVolts, RecordSink, Resume, Scheme, check_read_volts
from protocols._cell import OneCell, check_cell


class IvSweepParams(Params):
    row: CellRow = 0
    col: CellCol = 0
    v_max: float = Field(1.6, ge=0, le=20, description="Positive (SET) turning point, V")
    v_min: float = Field(1.6, ge=0, le=20, description="Magnitude of the negative (RESET) turning point, V")
    step: float = Field(0.05, gt=0, le=2, description="Voltage step, V")
    width: float = Field(5e-5, gt=0, le=10, description="Width of each point's pulse, s (B2902 minimum 50 µs)")
    read_after: bool = Field(True, description="Read the cell after each point")
    read_voltage: ReadVolts = 0.1
    scheme: Scheme = BiasScheme.HALF


def sweep_points(v_max: float, v_min: float, step: float) -> np.ndarray:
    """Non-zero points of 0 -> +v_max -> 0 -> -v_min -> 0."""
    up = np.arange(step, v_max + step / 2, step) if v_max > 0 else np.empty(0)
    dn = np.arange(step, v_min + step / 2, step) if v_min > 0 else np.empty(0)
    return np.concatenate([up, up[::-1][1:], -dn, -dn[::-1][1:]])


async def run(
    access: CrossbarAccess, params: IvSweepParams, sink: RecordSink, *, resume: Resume | None = None
) -> dict[str, Any]:
    check_cell(access, params.row, params.col)
    if params.read_after:
        check_read_volts(access, "read_voltage", params.read_voltage)
    for v in (params.v_max, -params.v_min):
        access.limits.check_program(v, params.width)
    pts = sweep_points(params.v_max, params.v_min, params.step)
    current, state = np.full(pts.size, np.nan), np.full(pts.size, np.nan)
    cell = OneCell(access, sink, params.row, params.col, "iv")
    for i, v in enumerate(pts):
        current[i] = (await cell.pulse(float(v), params.width, params.scheme)).current
        if params.read_after:
            state[i] = (await cell.read(params.read_voltage)).conductance
        sink.emit(Progress(i + 1, pts.size, f"iv_sweep: {v:+.3f} V"))
    sink.emit(ResultRecord("iv_sweep", {"row": params.row, "col": params.col, "volts": pts, "current": current,
                                        "conductance": state, "read_voltage": params.read_voltage}))
    return {"points": int(pts.size)}
