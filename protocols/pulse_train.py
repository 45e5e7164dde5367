"""``pulse_train``: potentiation (SET) and depression (RESET) pulse trains on a set of cells, read after every pulse.

Per cell and cycle: one read, ``set_pulses`` SET pulses (amplitude ``set_volts + k set_step``, capped at
``set_cap``), then ``reset_pulses`` RESET pulses (magnitude ``reset_start + k reset_step``, capped at
``reset_cap``), each followed by a read at ``read_voltage``. A stepped train suits cells whose RESET
self-limits at a conductance set by the amplitude (STANFORD_V1): each pulse of the ramp moves the cell a
little further; a constant amplitude (step 0) measures the repeated identical pulse. Emits every pulse and
read (kind "pulse_train") and a ``ResultRecord`` "pulse_train" with, per cell, the signed amplitude of each
pulse and the conductance read after it (``g_start``: the read before each cycle). This is the measurement
behind the device look-up tables of ``labctl.train.lut`` (seed 004). The defaults suit STANFORD_V1 cells
with a 5 % d2d spread: SET 1.3 -> 1.6 V (a deep RESET raises the SET threshold above 1.4 V on some cells),
RESET 1.00 -> 1.59 V in 10 mV steps (the first RESET threshold spreads over 1.05-1.13 V between cells).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field, field_validator

from labctl.core.access import BiasScheme, CrossbarAccess
from labctl.core.records import Progress, ResultRecord
from protocols._base import Params, ReadVolts, RecordSink, Resume, Scheme, check_read_volts
from protocols._cell import OneCell, check_cell


class PulseTrainParams(Params):
    cells: tuple[tuple[int, int], ...] = Field(((0, 0),), min_length=1, max_length=4096,
                                               description="Cells (row, col) to pulse, one after the other")
    cycles: int = Field(4, ge=1, le=10_000, description="Potentiation + depression trains per cell")
    set_pulses: int = Field(4, ge=0, le=10_000, description="SET pulses per potentiation train")
    set_volts: float = Field(1.3, gt=0, le=20, description="First SET amplitude, V")
    set_step: float = Field(0.1, ge=0, le=2, description="SET amplitude increment per pulse, V")
    set_cap: float = Field(1.8, gt=0, le=20, description="Largest SET amplitude, V")
    reset_pulses: int = Field(60, ge=0, le=10_000, description="RESET pulses per depression train")
    reset_start: float = Field(1.0, gt=0, le=20, description="First RESET amplitude (magnitude), V")
    reset_step: float = Field(0.01, ge=0, le=2, description="RESET amplitude increment per pulse, V")
    reset_cap: float = Field(1.6, gt=0, le=20, description="Largest RESET amplitude (magnitude), V")
    width: float = Field(5e-5, gt=0, le=10, description="Pulse width, s")
    read_voltage: ReadVolts = 0.1
    scheme: Scheme = BiasScheme.HALF

    @field_validator("cells")
    @classmethod
    def _distinct(cls, v: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
        if len(set(v)) != len(v):
            raise ValueError("cells must be distinct")
        return v


def amplitudes(params: PulseTrainParams) -> list[float]:
    """Signed pulse amplitudes of one cycle (> 0 SET, < 0 RESET)."""
    up = [min(params.set_volts + k * params.set_step, params.set_cap) for k in range(params.set_pulses)]
    down = [-min(params.reset_start + k * params.reset_step, params.reset_cap) for k in range(params.reset_pulses)]
    return up + down


async def run(
    access: CrossbarAccess, params: PulseTrainParams, sink: RecordSink, *, resume: Resume | None = None
) -> dict[str, Any]:
    for r, c in params.cells:
        check_cell(access, r, c)
    check_read_volts(access, "read_voltage", params.read_voltage)
    volts = amplitudes(params)
    if not volts:
        return {"cells": len(params.cells), "pulses": 0}
    for v in {max(volts), min(volts)}:
        access.limits.check_program(v, params.width)
    n = len(params.cells)
    g_start = np.empty((n, params.cycles))
    g = np.empty((n, params.cycles, len(volts)))
    for i, (r, c) in enumerate(params.cells):
        cell = OneCell(access, sink, r, c, "pulse_train")
        for k in range(params.cycles):
            g_start[i, k] = (await cell.read(params.read_voltage)).conductance
            for j, v in enumerate(volts):
                await cell.pulse(v, params.width, params.scheme)
                g[i, k, j] = (await cell.read(params.read_voltage)).conductance
        sink.emit(Progress(i + 1, n, f"pulse_train: cell ({r}, {c})"))
    sink.emit(ResultRecord("pulse_train", {
        "rows": np.array([r for r, _ in params.cells]), "cols": np.array([c for _, c in params.cells]),
        "volts": np.array(volts), "g_start": g_start, "conductance": g}))
    d = np.diff(np.concatenate([g_start[..., None], g], axis=2), axis=2)
    up = np.array(volts) > 0
    return {"cells": n, "pulses": int(n * params.cycles * len(volts)),
            "median_dg_set": float(np.median(d[..., up])) if up.any() else None,
            "median_dg_reset": float(np.median(d[..., ~up])) if (~up).any() else None}
