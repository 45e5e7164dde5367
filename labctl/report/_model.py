"""The measured-vs-trained report as typed data: every number the HTML shows, and its JSON twin.

Units: accuracies are fractions (0..1), conductances siemens, voltages volts, times seconds. Maps are
stored as nested lists (rows = crossbar rows); ``None`` marks a cell that was not read (NaN in numpy).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, field_validator

from labctl.report._forming import FormingMap

FloatArray = npt.NDArray[np.float64]
CELL_STATUSES = ("converged", "failed", "stuck", "pending", "")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="null")


class AccuracyRow(_Model):
    """One row of the accuracy table (seed 001's "Software Acc. / Crossbar Acc. / Drop" columns)."""

    stage: str = Field(description="What was measured, e.g. 'before retraining'")
    software: float | None = Field(default=None, ge=0, le=1, description="Software (trained model) accuracy, fraction")
    ideal_crossbar: float | None = Field(default=None, ge=0, le=1, description="Ideal crossbar (the targets), fraction")
    measured_crossbar: float | None = Field(default=None, ge=0, le=1,
                                            description="Measured crossbar (bench inference), fraction")
    offline_measured: float | None = Field(default=None, ge=0, le=1,
                                           description="Offline forward on the measured maps, fraction")
    n_test: int | None = Field(default=None, ge=0, description="Test images")
    reference: bool = Field(default=False, description="A published reference row, not measured here")

    @property
    def drop(self) -> float | None:
        """Software minus measured crossbar accuracy (the seed's 'drop due to quantization')."""
        if self.software is None or self.measured_crossbar is None:
            return None
        return self.software - self.measured_crossbar


class LayerMaps(_Model):
    """Target and measured conductance maps of one programmed layer (region of a crossbar)."""

    layer: str
    crossbar: str
    stage: str = Field(description="'initial' or 'after retraining'")
    origin: tuple[int, int] = (0, 0)
    read_voltage: float = Field(gt=0, description="Read voltage of the measured map, V")
    g_off: float | None = Field(default=None, gt=0, description="Window low end, S")
    g_on: float | None = Field(default=None, gt=0, description="Window high end, S")
    targets: list[list[float | None]] = Field(description="Target conductances, S")
    measured: list[list[float | None]] = Field(description="Read-back conductances, S")
    status: list[list[str]] = Field(description="Per-cell outcome: converged, failed, stuck, pending or ''")
    reprogrammed: list[list[bool]] | None = Field(default=None, description="Cells pulsed in this stage")

    @field_validator("status")
    @classmethod
    def _status(cls, v: list[list[str]]) -> list[list[str]]:
        bad = sorted({s for row in v for s in row if s not in CELL_STATUSES})
        if bad:
            raise ValueError(f"status = {bad[0]!r} is invalid; allowed: {', '.join(CELL_STATUSES[:-1])} or ''")
        return v

    def arrays(self) -> tuple[FloatArray, FloatArray, npt.NDArray[np.str_]]:
        t = np.array([[math.nan if x is None else x for x in r] for r in self.targets], dtype=np.float64)
        m = np.array([[math.nan if x is None else x for x in r] for r in self.measured], dtype=np.float64)
        return t, m, np.array(self.status, dtype="<U9")

    def error_stats(self) -> dict[str, float | int]:
        """Absolute and relative error of read-back vs target over cells with both, plus counts by status."""
        t, m, s = self.arrays()
        ok = np.isfinite(t) & np.isfinite(m)
        e = (m - t)[ok]
        rel = np.abs(e) / np.abs(t[ok]) if e.size else np.zeros(0)
        out: dict[str, float | int] = {
            "cells": int(ok.sum()),
            "mean_abs_error_S": float(np.abs(e).mean()) if e.size else math.nan,
            "max_abs_error_S": float(np.abs(e).max()) if e.size else math.nan,
            "mean_rel_error": float(rel.mean()) if rel.size else math.nan,
            "p99_rel_error": float(np.percentile(rel, 99)) if rel.size else math.nan,
        }
        for k in ("converged", "failed", "stuck", "pending"):
            out[k] = int((s == k).sum())
        return out

    @classmethod
    def from_arrays(cls, layer: str, crossbar: str, stage: str, targets: npt.ArrayLike, measured: npt.ArrayLike,
                    status: npt.ArrayLike, read_voltage: float, **kw: Any) -> LayerMaps:
        def lst(a: npt.ArrayLike) -> list[list[float | None]]:
            arr = np.asarray(a, dtype=np.float64)
            return [[float(x) if np.isfinite(x) else None for x in r] for r in arr]

        st = [[str(x) for x in r] for r in np.asarray(status).astype(str)]
        rp = kw.pop("reprogrammed", None)
        rp_l = None if rp is None else [[bool(x) for x in r] for r in np.asarray(rp, dtype=bool)]
        return cls(layer=layer, crossbar=crossbar, stage=stage, targets=lst(targets), measured=lst(measured),
                   status=st, read_voltage=read_voltage, reprogrammed=rp_l, **kw)


class LevelRow(_Model):
    """Final conductances of the cells programmed to one target level (S), and their histogram."""

    target: float = Field(description="Target level, S")
    cells: int = Field(ge=0)
    converged: int = Field(ge=0)
    within: int = Field(ge=0, description="Cells whose final G is within abs_tol + rel_tol * target")
    mean: float = Field(description="Mean final conductance, S")
    std: float = Field(description="Standard deviation of the final conductances, S")
    min: float
    max: float
    pulses_mean: float = Field(description="Mean pulses per cell of this level")
    edges: list[float] = Field(default_factory=list, description="Histogram bin edges, S")
    counts: list[int] = Field(default_factory=list, description="Cells per bin (ends include the outliers)")


class ProgramPass(_Model):
    """Write-verify statistics of one programming pass of one layer (from the journal)."""

    layer: str
    crossbar: str
    stage: str
    run_id: str | None = None
    cells: int = Field(ge=0, description="Cells programmed in this pass")
    converged: int = Field(ge=0)
    failed: int = Field(ge=0)
    stuck: int = Field(ge=0)
    pulses_total: int = Field(ge=0)
    pulses_per_cell: dict[str, float] = Field(default_factory=dict, description="mean, p50, p90, p99, max")
    pulse_histogram: dict[str, int] = Field(default_factory=dict, description="pulses -> number of cells")
    wall_seconds: float = Field(ge=0, description="Host time the pass took, s")
    bench_seconds: float = Field(ge=0, description="Bench time (timing model on a simulated bench), s")
    levels: list[LevelRow] = Field(default_factory=list, description="Per target level (multi-level maps only)")

    @property
    def converged_fraction(self) -> float:
        return self.converged / self.cells if self.cells else math.nan


class LayerError(_Model):
    """Offline model vs bench inference for one layer's outputs (seed 003, appendix table 1)."""

    layer: str
    stage: str
    reference: str = Field(default="offline ideal crossbar", description="What the bench outputs are compared with")
    n_outputs: int = Field(ge=0, description="Outputs (neurons) of the layer")
    n_vectors: int = Field(ge=0, description="Input vectors compared")
    max_error: float = Field(ge=0)
    mean_error: float = Field(ge=0)
    std_error: float = Field(ge=0)
    unit: str = "V"


class Retraining(_Model):
    """What chip-in-the-loop retraining changed."""

    method: str
    epochs: int = Field(ge=0)
    cells_to_program: dict[str, int] = Field(default_factory=dict)
    cells_total: dict[str, int] = Field(default_factory=dict)
    fixed_cells: dict[str, int] = Field(default_factory=dict, description="Stuck/failed cells kept as measured")
    predicted_accuracy: float | None = Field(default=None, ge=0, le=1, description="Offline, after reprogramming")
    accuracy_on_measured_maps: float | None = Field(default=None, ge=0, le=1,
                                                    description="Offline on the measured maps, before retraining")
    applied: bool = Field(default=True, description=(
        "False: no pass predicted a gain on noisy training letters, nothing was reprogrammed"))
    passes: list[dict[str, Any]] = Field(default_factory=list, description=(
        "Per retraining pass: selection loss and noisy training letters wrong on the chip as read and predicted "
        "after reprogramming (what decides it), the same for the test images (for information), cells to program, "
        "whether it was applied"))
    fail_odds: tuple[float, float] | None = Field(default=None, description=(
        "Odds that programming a cell OFF / ON failed in the first programming (the retraining draws reprogrammed "
        "cells from that programming's outcomes)"))
    periphery: dict[str, dict[str, Any]] | None = Field(default=None, description=(
        "The amplifiers' bias currents and gains refit to the chip as read (no cell reprogrammed), per refit (after "
        "the first programming, after the last pass): noisy training letters wrong and selection losses with the "
        "deployed and the fitted periphery, whether the fit was kept, the output periphery in use after it and the "
        "offline accuracy on the read maps before and after"))


class Report(_Model):
    """Everything a measured-vs-trained report shows, and every parameter needed to reproduce the run."""

    title: str = "labctl measured-vs-trained report"
    created: str = Field(description="ISO 8601 UTC time the report was built")
    model: dict[str, Any] = Field(default_factory=dict, description="Network, recipe, window, data set")
    accuracy: list[AccuracyRow] = Field(default_factory=list)
    maps: list[LayerMaps] = Field(default_factory=list)
    programming: list[ProgramPass] = Field(default_factory=list)
    layer_errors: list[LayerError] = Field(default_factory=list)
    retraining: Retraining | None = None
    forming: list[FormingMap] = Field(default_factory=list, description="Forming runs: voltage maps, failures")
    bench_snapshot: dict[str, Any] = Field(default_factory=dict)
    parameters: dict[str, Any] = Field(default_factory=dict, description="Everything needed to reproduce")
    runs: list[dict[str, Any]] = Field(default_factory=list, description="Stored runs: id, protocol, crossbar")
    timing: dict[str, float] = Field(default_factory=dict, description="Wall and bench seconds per step")
    placement: dict[str, Any] = Field(default_factory=dict, description=(
        "Fault-aware placement: per layer its segments (crossbar, rows, cols, outputs), the faults left in use "
        "(damage) and the scan's cell counts per crossbar (fault_counts)"))
    fault_maps: dict[str, list[str]] = Field(default_factory=dict, description=(
        "Per crossbar the scan's classes, one string per row: . working, O stuck-ON, x stuck-OFF, v virgin"))
    notes: list[str] = Field(default_factory=list)

    def accuracy_of(self, stage: str) -> AccuracyRow | None:
        return next((r for r in self.accuracy if r.stage == stage and not r.reference), None)

    def to_json(self) -> str:
        """The JSON twin: the model's fields plus derived numbers (drops, error statistics, fractions)."""
        import json

        d = json.loads(self.model_dump_json())
        for row, r in zip(d["accuracy"], self.accuracy, strict=True):
            row["drop"] = r.drop
        for m, lm in zip(d["maps"], self.maps, strict=True):
            m["error_stats"] = {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                                for k, v in lm.error_stats().items()}
        for p, pp in zip(d["programming"], self.programming, strict=True):
            p["converged_fraction"] = pp.converged_fraction if pp.cells else None
        return json.dumps(d, indent=1, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> Report:
        import json

        d = json.loads(text)
        for row in d.get("accuracy", []):
            row.pop("drop", None)
        for m in d.get("maps", []):
            m.pop("error_stats", None)
        for p in d.get("programming", []):
            p.pop("converged_fraction", None)
        return cls.model_validate(d)
