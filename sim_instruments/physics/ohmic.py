"""``OhmicArray``: a drop-in array of constant conductances, for validating the crossbar's network solver."""

from __future__ import annotations

from typing import Any

import numpy as np

from labctl.core.errors import ConfigError
from sim_instruments.physics._backend import make_backend
from sim_instruments.physics.nodal import LinearLaw
from sim_instruments.physics.nonideal import NonIdealities

NDArray = np.ndarray[Any, np.dtype[np.float64]]


class OhmicArray:
    """Cells of constant conductance ``g`` (S, shape rows x cols): ``I = g·V``; no dynamics, no noise."""

    def __init__(self, g: Any) -> None:
        arr = np.array(g, dtype=np.float64)
        if arr.ndim != 2 or arr.size == 0 or not np.isfinite(arr).all() or (arr < 0).any():
            raise ConfigError.invalid("g", f"shape {arr.shape}", "a non-empty 2-D array of finite conductances >= 0, S")
        arr.setflags(write=False)
        self.g = arr
        self.shape: tuple[int, ...] = (int(arr.shape[0]), int(arr.shape[1]))
        self.size = int(arr.size)
        self.xp = make_backend("numpy", "cpu")
        self.backend = "numpy"
        self.nonideal = NonIdealities()
        self.rng = np.random.default_rng(0)
        self.time = 0.0
        self.law = LinearLaw(arr.ravel())

    def current(self, v: Any) -> NDArray:
        """Cell currents g·V for cell voltages ``v`` (broadcast to the shape), A."""
        return np.asarray(self.g * np.broadcast_to(np.asarray(v, dtype=np.float64), self.shape))

    def conductance(self, v_read: float = 0.1) -> NDArray:
        """The conductances, S (independent of the read voltage)."""
        return self.g.copy()

    def cell_law(self) -> LinearLaw:
        return self.law

    def apply(self, v: Any, duration: float) -> None:
        """Time passes; nothing changes."""
        self.time += float(duration)

    def _apply_flat(self, v: Any, duration: float) -> None:
        self.time += float(duration)

    def idle(self, seconds: float) -> None:
        self.time += float(seconds)
