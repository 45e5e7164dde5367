"""``endurance``: SET/RESET cycling of one cell, reading both states every cycle.

Emits every pulse (kind "endurance") and read, and a ``ResultRecord`` "endurance" with the ON and OFF
conductances per cycle; the summary gives the median ON/OFF ratio and the cycles whose window closed
(ratio below ``min_ratio``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from labctl.core.access import BiasScheme, CrossbarAccess
from labctl.core.records import Progress, ResultRecord
from protocols._base import CellCol, CellRow, Params, ReadVolts, RecordSink, Resume, Scheme, check_read_volts
from protocols._cell import OneCell, check_cell


class EnduranceParams(Params):
    row: CellRow = 0
    col: CellCol = 0
    cycles: int = Field(10, ge=1, le=1_000_000, description="SET/RESET cycles")
    set_volts: float = Field(1.6, gt=0, le=20, description="SET amplitude, V")
    reset_volts: float = Field(1.6, gt=0, le=20, description="RESET amplitude (magnitude), V")
    width: float = Field(5e-5, gt=0, le=10, description="Pulse width, s (B2902 pulse-mode minimum 50 µs)")
    read_voltage: ReadVolts = 0.1
    min_ratio: float = Field(2.0, gt=1, description="ON/OFF ratio below which a cycle counts as failed")
    scheme: Scheme = BiasScheme.HALF


async def run(
    access: CrossbarAccess, params: EnduranceParams, sink: RecordSink, *, resume: Resume | None = None
) -> dict[str, Any]:
    check_cell(access, params.row, params.col)
    check_read_volts(access, "read_voltage", params.read_voltage)
    access.limits.check_program(params.set_volts, params.width)
    access.limits.check_program(-params.reset_volts, params.width)
    g_on, g_off = np.empty(params.cycles), np.empty(params.cycles)
    cell = OneCell(access, sink, params.row, params.col, "endurance")
    for k in range(params.cycles):
        for volts, out in ((params.set_volts, g_on), (-params.reset_volts, g_off)):
            await cell.pulse(volts, params.width, params.scheme)
            out[k] = (await cell.read(params.read_voltage)).conductance
        sink.emit(Progress(k + 1, params.cycles, f"endurance: cycle {k + 1}"))
    ratio = g_on / g_off
    sink.emit(ResultRecord("endurance", {"row": params.row, "col": params.col, "g_on": g_on, "g_off": g_off,
                                         "ratio": ratio}))
    return {"cycles": params.cycles, "median_ratio": float(np.median(ratio)),
            "failed_cycles": int((ratio < params.min_ratio).sum())}
