"""Waveform helpers on one array: DC staircase sweeps and pulse trains (for tests, demos and plots)."""

from __future__ import annotations

from typing import Any

import numpy as np

from sim_instruments.physics.array import RRAMArray

NDArray = np.ndarray[Any, np.dtype[np.float64]]


def triangle(v_peak: float, rate: float, dv: float = 1e-3) -> tuple[NDArray, float]:
    """A 0 → v_peak → 0 staircase of ``dv`` steps at ramp ``rate`` (V/s): (voltages, seconds per step)."""
    n = max(1, round(abs(v_peak) / dv))
    up = np.linspace(0.0, v_peak, n + 1)[1:]
    return np.concatenate([up, up[-2::-1], [0.0]]), dv / rate


def dc_sweep(array: RRAMArray, volts: NDArray, dt: float) -> tuple[NDArray, NDArray]:
    """Hold each voltage for ``dt`` s in turn; return the gap (m) and current (A) at the end of each step,
    one row per step (cells flattened)."""
    xp = array.xp
    gaps = np.empty((len(volts), array.size))
    cur = np.empty_like(gaps)
    for k, v in enumerate(volts):
        array.apply(float(v), dt)
        gaps[k] = xp.to_numpy(array.gap).reshape(-1)
        cur[k] = xp.to_numpy(array.current(float(v))).reshape(-1)
    return gaps, cur


def pulse_train(array: RRAMArray, volts: Any, width: float, count: int, v_read: float = 0.1,
                gap_between: float = 0.0) -> NDArray:
    """``count`` identical pulses; the chord conductance at ``v_read`` after each, one row per pulse."""
    out = np.empty((count, array.size))
    for k in range(count):
        array.apply(volts, width)
        if gap_between:
            array.idle(gap_between)
        out[k] = array.xp.to_numpy(array.conductance(v_read)).reshape(-1)
    return out
