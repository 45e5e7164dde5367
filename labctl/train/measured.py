"""Measured conductance maps with their provenance (numpy only, independent of the store).

NPZ format read by :func:`load_measured_map` (what the store exports):

* ``conductance``: rows x cols, siemens (float);
* ``status``: rows x cols, either strings (``converged`` | ``failed`` | ``stuck`` | ``pending``) or the integer
  codes of :data:`STATUS_CODES` (0 converged, 1 failed, 2 stuck, 3 pending);
* ``read_voltage``: scalar, volts;
* optional ``run_id`` and ``layer`` (strings), else taken from the arguments or the file name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from labctl.core.errors import ConfigError
from labctl.core.records import CellStatus

#: Integer code of each cell status in NPZ files.
STATUS_CODES: dict[CellStatus, int] = {
    CellStatus.CONVERGED: 0,
    CellStatus.FAILED: 1,
    CellStatus.STUCK: 2,
    CellStatus.PENDING: 3,
}
_BY_CODE = {v: k for k, v in STATUS_CODES.items()}


@dataclass(frozen=True)
class MeasuredMap:
    """A layer's read-back conductances, per-cell outcome codes, read voltage, run id and layer name."""

    layer: str
    conductance: npt.NDArray[np.float64]
    status: npt.NDArray[np.int8]
    read_voltage: float
    run_id: str = ""

    def __post_init__(self) -> None:
        g = np.asarray(self.conductance, dtype=np.float64)
        s = _status_codes(self.status)
        if g.ndim != 2 or s.shape != g.shape:
            raise ConfigError.invalid("status.shape", s.shape, f"{g.shape} (same 2-D shape as conductance)")
        if not np.all(np.isfinite(g[s != STATUS_CODES[CellStatus.PENDING]])):
            raise ConfigError.invalid("conductance", "NaN/inf", "finite values for every read cell")
        if not self.read_voltage > 0:
            raise ConfigError.out_of_range("read_voltage", self.read_voltage, 0.0, None, "V")
        object.__setattr__(self, "conductance", g)
        object.__setattr__(self, "status", s)

    def where(self, status: CellStatus) -> npt.NDArray[np.bool_]:
        """Boolean mask of the cells with this outcome."""
        return np.asarray(self.status == STATUS_CODES[status])

    @property
    def usable(self) -> npt.NDArray[np.bool_]:
        """Cells that can still be reprogrammed (converged or pending); stuck and failed cells are fixed."""
        return self.where(CellStatus.CONVERGED) | self.where(CellStatus.PENDING)

    def counts(self) -> dict[str, int]:
        return {str(k): int(self.where(k).sum()) for k in STATUS_CODES}

    def save(self, path: str | Path) -> Path:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        np.savez(p, conductance=self.conductance, status=self.status, read_voltage=np.float64(self.read_voltage),
                 run_id=np.str_(self.run_id), layer=np.str_(self.layer))
        return p


def _status_codes(status: npt.ArrayLike) -> npt.NDArray[np.int8]:
    a = np.asarray(status)
    if a.dtype.kind in "US":
        names = {str(k): v for k, v in STATUS_CODES.items()}
        flat = [str(x.decode() if isinstance(x, bytes) else x).lower() for x in a.ravel()]
        bad = sorted({x for x in flat if x not in names})
        if bad:
            raise ConfigError.invalid("status", bad[0], ", ".join(names))
        return np.array([names[x] for x in flat], dtype=np.int8).reshape(a.shape)
    if a.dtype.kind not in "iub":
        raise ConfigError.invalid("status.dtype", str(a.dtype), "strings or integer codes 0-3")
    if a.size and (a.min() < 0 or a.max() > 3):
        raise ConfigError.out_of_range("status", (int(a.min()), int(a.max())), 0, 3)
    return a.astype(np.int8)


def load_measured_map(path: str | Path, *, layer: str | None = None, run_id: str | None = None) -> MeasuredMap:
    """Read a measured map NPZ (``conductance``, ``status``, ``read_voltage`` [, ``run_id``, ``layer``])."""
    p = Path(path)
    if not p.exists():
        raise ConfigError.invalid("path", str(p), "an existing measured-map .npz file")
    with np.load(p, allow_pickle=False) as z:
        for key in ("conductance", "status", "read_voltage"):
            if key not in z.files:
                raise ConfigError.invalid(f"{p.name}:{key}", "missing", "arrays conductance, status, read_voltage")
        file_layer = str(z["layer"]) if "layer" in z.files else None
        file_run = str(z["run_id"]) if "run_id" in z.files else None
        return MeasuredMap(
            layer=layer or file_layer or p.stem,
            conductance=np.array(z["conductance"], dtype=np.float64),
            status=_status_codes(z["status"]),
            read_voltage=float(z["read_voltage"]),
            run_id=run_id or file_run or "",
        )


def load_measured_maps(directory: str | Path, *, run_id: str | None = None) -> dict[str, MeasuredMap]:
    """Every ``*.npz`` measured map in ``directory``, by layer name."""
    maps = [load_measured_map(p, run_id=run_id) for p in sorted(Path(directory).glob("*.npz"))]
    if not maps:
        raise ConfigError.invalid("maps directory", str(directory), "a folder holding <layer>.npz measured maps")
    return {m.layer: m for m in maps}
