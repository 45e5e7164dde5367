"""``forming``: electroforming by a pulsed voltage ramp until a cell's conductance passes ``g_formed``.

Per cell (row by row in ``region``): read; while below ``g_formed`` pulse at v_start, v_start + v_step, ...
up to v_max (``pulses_per_step`` each, width growing by ``width_growth`` per step up to ``width_max``),
reading after each pulse (the verify read). The current compliance is the bench's (``SafetyLimits.compliance``,
enforced by the SMU driver); it decides how strong the first filament is. With ``reset_voltage`` set, every
formed cell gets one RESET pulse and a read: a cell still above ``g_formed`` is over-formed (stuck ON).

Outcome per cell: converged (formed), stuck (never moved: still virgin at v_max, stuck OFF) or failed (the ramp
moved it without forming it, or over-formed). A cell already above ``g_formed`` is formed with 0 pulses.
Resumable: cells with an outcome are skipped (their forming voltage follows from the ramp and pulse count).
Emits a ``MapRecord`` "forming" with extra maps ``v_form`` (V of the forming pulse, NaN if not formed) and
``overformed`` (1 where the RESET check failed), and a ``ResultRecord`` "forming_failures".
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field, model_validator

from labctl.core.access import BiasScheme, CrossbarAccess
from labctl.core.records import CellOutcome, CellStatus, MapRecord, Progress, ResultRecord
from protocols._base import Params, ReadVolts, RecordSink, Resume, Scheme, check_read_volts
from protocols._region import region_bounds


class FormingParams(Params):
    region: tuple[int, int, int, int] | None = Field(None, description="(row0, row1, col0, col1), half-open")
    g_formed: float = Field(100e-6, gt=0, le=1, description="Conductance that counts as formed, S")
    v_start: float = Field(0.5, gt=0, le=20, description="First ramp amplitude, V")
    v_step: float = Field(0.1, gt=0, le=5, description="Ramp step, V")
    v_max: float = Field(3.0, gt=0, le=20, description="Last ramp amplitude, V")
    width: float = Field(1e-4, gt=0, le=10, description="First pulse width, s")
    width_growth: float = Field(1.0, ge=1, le=10, description="Width factor per ramp step")
    width_max: float = Field(1e-3, gt=0, le=10, description="Longest pulse, s")
    pulses_per_step: int = Field(1, ge=1, le=100, description="Pulses per ramp amplitude")
    read_voltage: ReadVolts = 0.1
    stuck_rel: float = Field(0.05, ge=0, description="A cell that never moved more than this is stuck")
    scheme: Scheme = BiasScheme.HALF
    reset_voltage: float | None = Field(None, ge=-20, lt=0, description="RESET check after forming, V (< 0; "
                                                                         "None: no check)")
    reset_width: float = Field(1e-4, gt=0, le=10, description="Width of the RESET check pulse, s")

    @model_validator(mode="after")
    def _ordered(self) -> FormingParams:
        if self.v_start > self.v_max:
            raise ValueError(f"v_start = {self.v_start:g} V must not exceed v_max = {self.v_max:g} V")
        return self


def ramp(params: FormingParams) -> np.ndarray:
    """The ramp amplitudes, V."""
    return np.arange(params.v_start, params.v_max + params.v_step / 2, params.v_step)


def forming_voltage(params: FormingParams, pulses: int) -> float:
    """The amplitude of a formed cell's last pulse, from its pulse count (NaN for 0 pulses: formed already)."""
    amps = ramp(params)
    return float(amps[min((pulses - 1) // params.pulses_per_step, amps.size - 1)]) if pulses > 0 else float("nan")


async def run(
    access: CrossbarAccess, params: FormingParams, sink: RecordSink, *, resume: Resume | None = None
) -> dict[str, Any]:
    check_read_volts(access, "read_voltage", params.read_voltage)
    access.limits.check_program(params.v_max, min(max(params.width, access.limits.min_pulse_width),
                                                  access.limits.max_pulse_width))
    r0, r1, c0, c1 = region_bounds(params.region, access)
    done = dict(resume or {})
    todo = [(r, c) for r in range(r0, r1) for c in range(c0, c1) if (r, c) not in done]
    total, finished = (r1 - r0) * (c1 - c0), (r1 - r0) * (c1 - c0) - len(todo)
    if params.reset_voltage is not None:
        access.limits.check_program(params.reset_voltage, params.reset_width)
    g_map = np.full((access.rows, access.cols), np.nan)
    v_form = np.full(g_map.shape, np.nan)
    over = np.zeros(g_map.shape)
    status = np.full(g_map.shape, "", dtype="<U9")
    for (r, c), o in done.items():
        if r0 <= r < r1 and c0 <= c < c1:
            g_map[r, c], status[r, c] = o.conductance, str(o.status)
            if o.status == CellStatus.CONVERGED:
                v_form[r, c] = forming_voltage(params, o.pulses)
            elif o.status == CellStatus.FAILED and o.conductance >= params.g_formed:
                v_form[r, c], over[r, c] = forming_voltage(params, o.pulses), 1.0
    amps = ramp(params)
    for r, c in todo:
        (rd,) = await access.read(r, [c], params.read_voltage)
        sink.emit(rd)
        g = g0 = rd.conductance
        pulses, width = 0, params.width
        for v in amps:
            if g >= params.g_formed:
                break
            for _ in range(params.pulses_per_step):
                for rec in await access.pulse(r, [c], float(v), width, params.scheme):
                    sink.emit(rec)
                pulses += 1
                (rd,) = await access.read(r, [c], params.read_voltage)
                sink.emit(rd)
                g = rd.conductance
                if g >= params.g_formed:
                    break
            width = min(width * params.width_growth, params.width_max)
        if g >= params.g_formed:
            st = CellStatus.CONVERGED
            v_form[r, c] = forming_voltage(params, pulses)
            if params.reset_voltage is not None:
                g = await _reset_check(access, sink, r, c, params)
                if g >= params.g_formed:
                    st, over[r, c] = CellStatus.FAILED, 1.0
        else:
            st = CellStatus.STUCK if abs(g / g0 - 1) <= params.stuck_rel else CellStatus.FAILED
        sink.emit(CellOutcome(r, c, st, params.g_formed, g, pulses))
        g_map[r, c], status[r, c] = g, str(st)
        finished += 1
        sink.emit(Progress(finished, total, f"forming: ({r}, {c}) {st}"))
    targets = np.where(status != "", params.g_formed, np.nan)
    sink.emit(MapRecord("forming", g_map, params.read_voltage, targets=targets, status=status,
                        extra={"v_form": v_form, "overformed": over}))
    virgin = [[int(r), int(c)] for r, c in np.argwhere(status == "stuck")]
    overformed = [[int(r), int(c)] for r, c in np.argwhere(over > 0)]
    moved = [[int(r), int(c)] for r, c in np.argwhere((status == "failed") & (over == 0))]
    sink.emit(ResultRecord("forming_failures", {"virgin": virgin, "overformed": overformed, "unformed": moved}))
    formed = v_form[np.isfinite(v_form)]
    return {"cells": total, "formed": int((status == "converged").sum()), "stuck_off": len(virgin),
            "stuck_on": len(overformed), "v_form_median": float(np.median(formed)) if formed.size else None}


async def _reset_check(access: CrossbarAccess, sink: RecordSink, r: int, c: int, params: FormingParams) -> float:
    """One RESET pulse and a read; returns the conductance after it, S."""
    assert params.reset_voltage is not None
    for rec in await access.pulse(r, [c], params.reset_voltage, params.reset_width, params.scheme):
        sink.emit(rec)
    (rd,) = await access.read(r, [c], params.read_voltage)
    sink.emit(rd)
    return float(rd.conductance)
