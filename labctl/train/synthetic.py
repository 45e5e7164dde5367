"""A statistical stand-in chip: programs target maps with Gaussian error and stuck-at faults (numpy only).

Used by the reproduction runs and tests until measured maps come from the simulated bench. Stuck-ON cells read
``g_on``, stuck-OFF cells read ``g_off`` (status ``stuck``); the rest read ``target + N(0, (sigma span)^2)``
clipped to the window (status ``converged``).
"""

from __future__ import annotations

import numpy as np

from labctl.core.errors import ConfigError
from labctl.core.records import CellStatus
from labctl.train.measured import STATUS_CODES, MeasuredMap
from labctl.train.targets import TargetMap


def program_with_faults(
    targets: dict[str, TargetMap],
    *,
    stuck_on: float = 0.05,
    stuck_off: float = 0.05,
    sigma: float = 0.01,
    seed: int = 0,
    run_id: str = "synthetic",
) -> dict[str, MeasuredMap]:
    """Measured maps for ``targets`` with the given stuck fractions and relative programming error."""
    for name, v in (("stuck_on", stuck_on), ("stuck_off", stuck_off), ("sigma", sigma)):
        if not 0.0 <= v <= 1.0:
            raise ConfigError.out_of_range(name, v, 0.0, 1.0)
    rng = np.random.default_rng(seed)
    out: dict[str, MeasuredMap] = {}
    for name, tm in targets.items():
        w = tm.window
        t = tm.targets
        g = np.clip(t + sigma * w.span * rng.standard_normal(t.shape), w.g_off, w.g_on)
        u = rng.random(t.shape)
        on, off = u < stuck_on, (u >= stuck_on) & (u < stuck_on + stuck_off)
        g = np.where(on, w.g_on, np.where(off, w.g_off, g))
        status = np.full(t.shape, STATUS_CODES[CellStatus.CONVERGED], dtype=np.int8)
        status[on | off] = STATUS_CODES[CellStatus.STUCK]
        out[name] = MeasuredMap(name, g, status, w.read_voltage, run_id)
    return out
