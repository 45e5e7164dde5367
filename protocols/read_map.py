"""``read_map``: the conductance map of an array (a region, or any rows x columns) at the clamped read voltage.

Each row's cells are read together ``repeats`` times; per cell the reads are averaged after dropping
outliers (farther than ``outlier_k`` robust standard deviations from the median, with a floor of
``outlier_floor`` x median). Emits every read (kind "map"), a ``MapRecord`` named "read_map" with
extra arrays ``std`` and ``outliers``, and a ``ResultRecord`` listing the cells with outliers.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from pydantic import Field

from labctl.core.access import CrossbarAccess
from labctl.core.errors import ConfigError
from labctl.core.records import MapRecord, Progress, ResultRecord
from protocols._base import Params, RecordSink, Resume, check_read_volts
from protocols._region import region_bounds


class ReadMapParams(Params):
    read_voltage: float = Field(0.1, gt=0, le=1.0, description="Read voltage, V (within the bench's read clamp)")
    repeats: int = Field(3, ge=1, le=100, description="Reads per cell, averaged")
    region: tuple[int, int, int, int] | None = Field(None, description="(row0, row1, col0, col1), half-open")
    rows: list[int] | None = Field(None, description="Instead of a region: these rows (x ``cols``)")
    cols: list[int] | None = Field(None, description="Instead of a region: these columns (x ``rows``)")
    outlier_k: float = Field(5.0, gt=0, le=100, description="Outlier distance, robust standard deviations")
    outlier_floor: float = Field(0.02, ge=0, le=1, description="Smallest outlier distance, fraction of the median")


def robust_mean(samples: np.ndarray, k: float, floor: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column of ``samples`` (repeats x cells): mean without outliers, std, outlier count."""
    med = np.median(samples, axis=0)
    mad = 1.4826 * np.median(np.abs(samples - med), axis=0)
    lim = np.maximum(k * mad, floor * np.abs(med))
    bad = np.abs(samples - med) > lim
    keep = np.where(bad, np.nan, samples)
    return np.nanmean(keep, axis=0), np.nanstd(keep, axis=0), bad.sum(axis=0)


def _lines(p: ReadMapParams, access: CrossbarAccess) -> tuple[list[int], list[int]]:
    """The rows and columns read: ``rows`` x ``cols`` where given (each defaulting to the region's), else the
    region."""
    r0, r1, c0, c1 = region_bounds(p.region, access)
    rows = sorted(set(p.rows)) if p.rows is not None else list(range(r0, r1))
    cols = sorted(set(p.cols)) if p.cols is not None else list(range(c0, c1))
    for name, lines, n in (("rows", rows, access.rows), ("cols", cols, access.cols)):
        if not lines or not 0 <= lines[0] <= lines[-1] < n:
            raise ConfigError.invalid(name, lines, f"a non-empty list of lines in 0..{n - 1}")
    return rows, cols


async def run(
    access: CrossbarAccess, params: ReadMapParams, sink: RecordSink, *, resume: Resume | None = None
) -> dict[str, Any]:
    check_read_volts(access, "read_voltage", params.read_voltage)
    rows, cols = _lines(params, access)
    shape = (access.rows, access.cols)
    mean, std = np.full(shape, np.nan), np.full(shape, np.nan)
    outliers = np.zeros(shape, dtype=np.int64)
    v = params.read_voltage
    for k_row, row in enumerate(rows):
        samples = np.empty((params.repeats, len(cols)))
        for k in range(params.repeats):
            for j, rec in enumerate(await access.read(row, cols, v)):
                sink.emit(dataclasses.replace(rec, kind="map"))
                samples[k, j] = rec.current / rec.volts
        m, s, n = robust_mean(samples, params.outlier_k, params.outlier_floor)
        mean[row, cols], std[row, cols], outliers[row, cols] = m, s, n
        sink.emit(Progress(k_row + 1, len(rows), f"read_map: row {row}"))
    sink.emit(MapRecord("read_map", mean, v, extra={"std": std, "outliers": outliers}))
    cells = [[int(r), int(c), int(outliers[r, c])] for r, c in np.argwhere(outliers > 0)]
    sink.emit(ResultRecord("read_map_outliers", {"cells": cells}))
    region = mean[np.ix_(rows, cols)]
    return {"cells": int(region.size), "outlier_cells": len(cells), "mean_S": float(np.nanmean(region))}
