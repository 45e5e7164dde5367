"""``retention``: read a set of cells every ``interval`` seconds for ``duration`` seconds of bench time.

Emits every read (kind "retention") and a ``ResultRecord`` "retention" with times and conductances;
the summary gives the relative drift of each cell (last vs first reading).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from pydantic import Field

from labctl.core.access import CrossbarAccess
from labctl.core.records import Progress, ResultRecord
from protocols._base import Params, ReadVolts, RecordSink, Resume, check_read_volts
from protocols._region import region_bounds


class RetentionParams(Params):
    region: tuple[int, int, int, int] | None = Field((0, 1, 0, 8), description="(row0, row1, col0, col1) read")
    read_voltage: ReadVolts = 0.1
    interval: float = Field(1.0, gt=0, le=86400, description="Time between reads, s")
    duration: float = Field(10.0, gt=0, le=30 * 86400, description="Total time, s")


async def run(
    access: CrossbarAccess, params: RetentionParams, sink: RecordSink, *, resume: Resume | None = None
) -> dict[str, Any]:
    check_read_volts(access, "read_voltage", params.read_voltage)
    r0, r1, c0, c1 = region_bounds(params.region, access)
    cols = list(range(c0, c1))
    n = int(params.duration // params.interval) + 1
    times, g = np.empty(n), np.empty((n, r1 - r0, c1 - c0))
    t0 = access.now()
    for k in range(n):
        if k:
            await access.wait(t0 + k * params.interval - access.now())  # bench time (virtual on a sim bench)
        times[k] = access.now() - t0
        for row in range(r0, r1):
            for j, rec in enumerate(await access.read(row, cols, params.read_voltage)):
                sink.emit(dataclasses.replace(rec, kind="retention"))
                g[k, row - r0, j] = rec.conductance
        sink.emit(Progress(k + 1, n, f"retention: t = {times[k]:.3g} s"))
    drift = (g[-1] - g[0]) / g[0]
    sink.emit(ResultRecord("retention", {"region": [r0, r1, c0, c1], "t": times, "conductance": g,
                                         "read_voltage": params.read_voltage}))
    return {"reads": n, "max_rel_drift": float(np.nanmax(np.abs(drift)))}
