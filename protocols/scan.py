"""``scan``: a short test of every cell of an array (or a region) that classifies it and yields the fault map.

Per group of up to ``parallel`` cells of a row (one pulse serves the group: the row at V, their columns at 0 V, the
other lines per ``scheme``; current compliance is the bench's, enforced by the SMU driver):

1. read ``g0`` (the cell as found) under the read clamp (skipped with ``read_found`` off);
2. one RESET pulse (``-reset_volts``), read ``g_reset``;
3. one SET pulse (``+set_volts``), read ``g_set``;
4. restore: cells found OFF (``g0 < g_mid``) get one more RESET and a read, so every working cell leaves in the
   binary state it was found in (found ON cells already are, after the SET).

With ``order = "set_reset"`` steps 2 and 3 swap (SET first, then RESET) and there is no restore: every working cell
leaves OFF. That parks the cells a job does not program in their high-resistance state; on a chip with wire
resistance a fresh (ON) cell left on a driven row or a used column draws current that drops the line voltages of
the cells in use (``labctl loop`` scans this way).

Classes (:data:`CLASSES`): ``working`` when the SET swung the cell up by at least ``min_ratio`` from its RESET
read; otherwise by its last test read ``g_set``: ``stuck_on`` (>= ``g_stuck_on``), ``virgin`` (< ``g_virgin``,
never formed) or ``stuck_off``. Outcomes: converged (working), failed (moved by ``min_ratio`` but not the full
swing) or stuck (never moved). Each cell's ``CellOutcome`` (target = ``g0``, the state the restore returns to;
conductance = ``g_set``, what decides the class; without ``read_found``
the target is ``g_set``, where the cell stays; with ``set_reset`` it is ``g_reset``) commits it in the journal;
a resumed run never pulses it again.
Emits a ``MapRecord`` "scan" (conductance ``g0``; extras ``g_reset``, ``g_set``, ``fault_class`` = index into
:data:`CLASSES`, ``switched``) and a ``ResultRecord`` "scan" with the counts per class.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from pydantic import Field, model_validator

from labctl.core.access import BiasScheme, CrossbarAccess, PulseAndRead
from labctl.core.records import CellOutcome, CellStatus, MapRecord, Progress, ResultRecord
from protocols._base import Params, ReadVolts, RecordSink, Resume, Scheme, check_read_volts
from protocols._region import region_bounds

CLASSES = ("working", "stuck_on", "stuck_off", "virgin")


class ScanParams(Params):
    """Parameters of ``scan``. Defaults suit STANFORD_V1 (fresh cells ~1.8 mS; -1.6 V / 1.8 V for 100 us switch
    every healthy cell, the write-verify caps of ``program``)."""

    region: tuple[int, int, int, int] | None = Field(None, description="(row0, row1, col0, col1), half-open")
    reset_volts: float = Field(1.6, gt=0, le=20, description="RESET amplitude (magnitude), V")
    set_volts: float = Field(1.8, gt=0, le=20, description="SET amplitude, V")
    width: float = Field(1e-4, gt=0, le=10, description="Pulse width, s")
    read_voltage: ReadVolts = 0.1
    min_ratio: float = Field(5.0, gt=1, le=1e6, description="SET/RESET conductance ratio of a working cell")
    g_mid: float = Field(200e-6, gt=0, le=1, description="Found at or above this a cell counts as ON, S")
    g_stuck_on: float = Field(500e-6, gt=0, le=1, description="A non-switching cell at or above this is stuck ON, S")
    g_virgin: float = Field(1e-6, ge=0, le=1, description="A non-switching cell below this is virgin, S")
    parallel: int = Field(1, ge=1, le=4096, description=(
        "Cells of one row sharing a pulse (1: pulse and read in one operation where the bench can)"))
    restore: bool = Field(True, description="Return working cells found OFF to OFF (needs read_found)")
    read_found: bool = Field(True, description=(
        "Read each cell as found first (off: two operations per cell; g0 unknown, no restore)"))
    scheme: Scheme = BiasScheme.HALF
    set_compliance: float | None = Field(None, gt=0, le=1, description=(
        "Current limit of the drive source during the SET pulse, A (unset: its configured compliance): a test SET "
        "that stops near I = limit leaves a cell a RESET can still reach on a chip with wire resistance"))
    order: str = Field("reset_set", description=(
        "reset_set: RESET then SET (working cells leave ON, or as found with restore); set_reset: SET then RESET, "
        "no restore (every working cell leaves OFF: cells nobody programs parked in HRS)"))

    @model_validator(mode="after")
    def _ordered(self) -> ScanParams:
        if self.g_virgin >= self.g_stuck_on:
            raise ValueError(f"g_virgin = {self.g_virgin:g} S must be below g_stuck_on = {self.g_stuck_on:g} S")
        if self.order not in ("reset_set", "set_reset"):
            raise ValueError(f"order = {self.order!r} is invalid; allowed: reset_set, set_reset")
        return self


def classify(status: str, g_set: float, p: ScanParams) -> str:
    """The class of a tested cell from its outcome and its read after the SET."""
    if status == CellStatus.CONVERGED:
        return "working"
    if g_set >= p.g_stuck_on:
        return "stuck_on"
    return "virgin" if g_set < p.g_virgin else "stuck_off"


def _outcome(g0: float, g_reset: float, g_set: float, p: ScanParams) -> CellStatus:
    lo = max(g_reset, 1e-12)
    if g_set / lo >= p.min_ratio:
        return CellStatus.CONVERGED
    seen = [g for g in (g0, g_set, lo) if np.isfinite(g)]
    moved = max(seen) / max(min(seen), 1e-12) >= p.min_ratio
    return CellStatus.FAILED if moved else CellStatus.STUCK


async def run(
    access: CrossbarAccess, params: ScanParams, sink: RecordSink, *, resume: Resume | None = None
) -> dict[str, Any]:
    """Test and classify every cell of the region; return the counts per class."""
    check_read_volts(access, "read_voltage", params.read_voltage)
    access.limits.check_program(params.set_volts, params.width)
    access.limits.check_program(-params.reset_volts, params.width)
    r0, r1, c0, c1 = region_bounds(params.region, access)
    shape = (access.rows, access.cols)
    g0m, g_reset, g_set = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    fault = np.full(shape, -1, dtype=np.int64)
    status = np.full(shape, "", dtype="<U9")
    done = dict(resume or {})
    for (r, c), o in done.items():
        if r0 <= r < r1 and c0 <= c < c1:
            g0m[r, c], g_set[r, c], status[r, c] = o.target, o.conductance, str(o.status)
            fault[r, c] = CLASSES.index(classify(str(o.status), o.conductance, params))
    total = (r1 - r0) * (c1 - c0)
    finished = int((fault[r0:r1, c0:c1] >= 0).sum())
    sink.emit(Progress(finished, total, "scan: start"))
    vr = params.read_voltage
    combined = access if isinstance(access, PulseAndRead) and params.parallel == 1 else None
    for row in range(r0, r1):
        todo = [c for c in range(c0, c1) if (row, c) not in done]
        for k in range(0, len(todo), params.parallel):
            cols = todo[k:k + params.parallel]
            g0 = await _read(access, sink, row, cols, vr) if params.read_found else [np.nan] * len(cols)
            park = params.order == "set_reset"
            if park:  # SET first, then RESET: the cell leaves OFF (what the restore would do is done already)
                g2 = await _step(access, combined, sink, row, cols, params.set_volts, params)
                g1 = await _step(access, combined, sink, row, cols, -params.reset_volts, params)
            else:
                g1 = await _step(access, combined, sink, row, cols, -params.reset_volts, params)
                g2 = await _step(access, combined, sink, row, cols, params.set_volts, params)
            back = [c for c, g in zip(cols, g0, strict=True) if g < params.g_mid] if params.restore and not park \
                else []
            if back:
                await _step(access, combined, sink, row, back, -params.reset_volts, params)
            for c, a, b, s in zip(cols, g0, g1, g2, strict=True):
                st = _outcome(a, b, s, params)
                left_at = a if np.isfinite(a) and not park else b if park else s  # where the cell stays
                sink.emit(CellOutcome(row, c, st, left_at, s, 3 if c in back else 2))
                g0m[row, c], g_reset[row, c], g_set[row, c], status[row, c] = a, b, s, str(st)
                fault[row, c] = CLASSES.index(classify(str(st), s, params))
            finished += len(cols)
            sink.emit(Progress(finished, total, f"scan: row {row}"))
    switched = (status == CellStatus.CONVERGED) | (status == CellStatus.FAILED)
    sink.emit(MapRecord("scan", g0m, vr, status=status, extra={
        "g_reset": g_reset, "g_set": g_set, "fault_class": fault, "switched": switched.astype(np.int64)}))
    region = fault[r0:r1, c0:c1]
    counts = {name: int((region == i).sum()) for i, name in enumerate(CLASSES)}
    sink.emit(ResultRecord("scan", {"classes": list(CLASSES), "counts": counts, "region": [r0, r1, c0, c1]}))
    return {"cells": total, **counts}


async def _read(access: CrossbarAccess, sink: RecordSink, row: int, cols: list[int], volts: float) -> list[float]:
    out = []
    for rec in await access.read(row, cols, volts):
        sink.emit(dataclasses.replace(rec, kind="scan"))
        out.append(rec.conductance)
    return out


async def _step(access: CrossbarAccess, combined: PulseAndRead | None, sink: RecordSink, row: int,
                cols: list[int], volts: float, p: ScanParams) -> list[float]:
    """One pulse on ``cols`` of ``row`` and a read of them (one operation on a bench that can do both at once)."""
    icc = p.set_compliance if volts > 0 else None
    if combined is not None:
        pulses, reads = await combined.pulse_and_read(row, cols, volts, p.width, p.scheme, p.read_voltage,
                                                      compliance=icc)
    else:
        pulses, reads = await access.pulse(row, cols, volts, p.width, p.scheme, compliance=icc), []
    for rec in pulses:
        sink.emit(dataclasses.replace(rec, kind="scan"))
    if not reads:
        return await _read(access, sink, row, cols, p.read_voltage)
    for rd in reads:
        sink.emit(dataclasses.replace(rd, kind="scan"))
    return [rd.conductance for rd in reads]


def fault_classes(fault_class: np.ndarray) -> np.ndarray:
    """The ``fault_class`` extra of a "scan" map as class names ('' where the scan did not reach)."""
    names = np.array([*CLASSES, ""], dtype="<U9")
    return names[np.where(fault_class < 0, len(CLASSES), fault_class)]
