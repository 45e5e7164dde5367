"""Per-layer conductance target maps: the exchange format with the programming protocol.

On disk, one layer is two files side by side:

* ``<layer>.npz`` with array ``targets`` (rows x cols, siemens, float64) and optional boolean ``mask``
  (same shape; ``True`` = program this cell, ``False`` = leave it alone);
* ``<layer>.json`` with the metadata: ``layer``, ``mapping`` (``binary`` | ``differential`` | ``quantized``),
  ``window`` (``g_off``, ``g_on`` in S, ``read_voltage`` in V), ``read_voltage``, ``columns``
  (``single`` | ``interleaved_pairs``) and ``periphery`` (how column currents become layer outputs; see
  :mod:`labctl.train.crossbar`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from labctl.core.errors import ConfigError
from labctl.train.mapping import ConductanceWindow

MAPPINGS = ("binary", "differential", "quantized")


@dataclass(frozen=True)
class TargetMap:
    """Targets of one crossbar layer (rows = inputs, cols = outputs or interleaved output pairs)."""

    layer: str
    targets: npt.NDArray[np.float64]
    mapping: str
    window: ConductanceWindow
    mask: npt.NDArray[np.bool_] | None = None
    columns: str = "single"
    periphery: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        t = np.asarray(self.targets, dtype=np.float64)
        object.__setattr__(self, "targets", t)
        if t.ndim != 2:
            raise ConfigError.invalid("targets.shape", t.shape, "a 2-D (rows, cols) array")
        if self.mapping not in MAPPINGS:
            raise ConfigError.invalid("mapping", self.mapping, ", ".join(MAPPINGS))
        if self.columns not in ("single", "interleaved_pairs"):
            raise ConfigError.invalid("columns", self.columns, "single, interleaved_pairs")
        lo, hi = self.window.g_off * (1 - 1e-9), self.window.g_on * (1 + 1e-9)
        if t.size and (t.min() < lo or t.max() > hi):
            raise ConfigError.out_of_range("targets", (float(t.min()), float(t.max())), lo, hi, "S")
        if self.mask is not None:
            m = np.asarray(self.mask, dtype=bool)
            if m.shape != t.shape:
                raise ConfigError.invalid("mask.shape", m.shape, f"{t.shape} (same as targets)")
            object.__setattr__(self, "mask", m)

    @property
    def read_voltage(self) -> float:
        return self.window.read_voltage

    def metadata(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "mapping": self.mapping,
            "window": self.window.to_dict(),
            "read_voltage": self.read_voltage,
            "columns": self.columns,
            "shape": list(self.targets.shape),
            "cells_to_program": int(self.targets.size if self.mask is None else self.mask.sum()),
            "periphery": self.periphery,
        }

    def save(self, directory: str | Path) -> Path:
        """Write ``<layer>.npz`` and ``<layer>.json`` into ``directory``; returns the NPZ path."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        path = d / f"{self.layer}.npz"
        arrays: dict[str, Any] = {"targets": self.targets}
        if self.mask is not None:
            arrays["mask"] = self.mask
        np.savez(path, **arrays)
        (d / f"{self.layer}.json").write_text(json.dumps(self.metadata(), indent=1))
        return path


def load_target_map(path: str | Path) -> TargetMap:
    """Read a map written by :meth:`TargetMap.save` (the JSON beside the NPZ supplies the metadata)."""
    p = Path(path)
    meta_path = p.with_suffix(".json")
    if not p.exists():
        raise ConfigError.invalid("path", str(p), "an existing <layer>.npz file")
    meta: dict[str, Any] = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    with np.load(p) as z:
        targets = np.array(z["targets"], dtype=np.float64)
        mask = np.array(z["mask"], dtype=bool) if "mask" in z.files else None
    w = meta.get("window") or {"g_off": float(targets.min()), "g_on": float(targets.max()) * (1 + 1e-9) + 1e-15}
    return TargetMap(
        layer=str(meta.get("layer", p.stem)),
        targets=targets,
        mapping=str(meta.get("mapping", "differential")),
        window=ConductanceWindow(**w),
        mask=mask,
        columns=str(meta.get("columns", "single")),
        periphery=dict(meta.get("periphery", {})),
    )


def load_target_maps(directory: str | Path) -> dict[str, TargetMap]:
    """All ``*.npz`` target maps in a directory, by layer name."""
    maps = [load_target_map(p) for p in sorted(Path(directory).glob("*.npz"))]
    return {m.layer: m for m in maps}
