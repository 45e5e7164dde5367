"""``Crossbar``: an ideal (zero wire resistance) crossbar over a 2-D :class:`RRAMArray`.

Each row (top electrode) and column (bottom electrode) line is driven to a voltage, grounded (0.0) or floating
(``None``). Cell voltage = V_row − V_col. Floating lines are solved by KCL with the non-linear cell I-V
(:mod:`sim_instruments.physics.kcl`), so sneak paths and half-select disturb come out of the physics.
Pulses and reads both integrate the cell dynamics for their duration (read disturb is physical).
Line currents are the currents flowing from each line's source into the array (Σ rows = −Σ columns).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from labctl.core.errors import ConfigError
from sim_instruments.physics._cells import velocity
from sim_instruments.physics.array import RRAMArray
from sim_instruments.physics.kcl import solve_floating

Lines = Sequence[float | None]
NDArray = np.ndarray[Any, np.dtype[np.float64]]

_DG_COUPLE = 2e-11  # m, largest gap change between two KCL re-solves while lines float
_MAX_KCL_CHUNKS = 400


class Crossbar:
    """Row/column line access to a 2-D :class:`RRAMArray` (rows = TE lines, columns = BE lines)."""

    def __init__(self, array: RRAMArray) -> None:
        if len(array.shape) != 2:
            raise ConfigError.invalid("array.shape", array.shape, "a 2-D shape (rows, cols)")
        self.array = array
        self.shape: tuple[int, int] = (array.shape[0], array.shape[1])
        self.peak_read_voltage: NDArray = np.zeros(self.shape)
        self.peak_pulse_voltage: NDArray = np.zeros(self.shape)
        self.last_line_voltages: tuple[NDArray, NDArray] = (np.zeros(self.shape[0]), np.zeros(self.shape[1]))
        self._memo: dict[tuple[tuple[float | None, ...], tuple[float | None, ...]],
                         tuple[NDArray, NDArray, NDArray, NDArray]] = {}

    @property
    def time(self) -> float:
        """Simulated time elapsed on the array, s."""
        return self.array.time

    def reset_peaks(self) -> None:
        """Forget the per-cell peak |V| seen during reads and pulses."""
        self.peak_read_voltage[:] = 0.0
        self.peak_pulse_voltage[:] = 0.0

    def idle(self, seconds: float) -> None:
        """Let time pass with every line unbiased."""
        self.array.idle(seconds)

    def pulse(self, rows: Lines, cols: Lines, width: float) -> None:
        """Hold the line conditions for ``width`` seconds."""
        if not (isinstance(width, float | int) and math.isfinite(width) and width > 0):
            raise ConfigError.out_of_range("width", width, 0.0, None, "s")
        self._hold(rows, cols, width, self.peak_pulse_voltage)

    def read(self, rows: Lines, cols: Lines, duration: float = 1e-6) -> tuple[NDArray, NDArray]:
        """Hold the line conditions for ``duration`` s; return (row currents, column currents), A, at the end.

        Floating lines report their KCL residual (≈ 0). Read noise, if enabled, acts on driven lines.
        """
        if not (isinstance(duration, float | int) and math.isfinite(duration) and duration >= 0):
            raise ConfigError.out_of_range("duration", duration, 0.0, None, "s")
        vr, vc = self._hold(rows, cols, duration, self.peak_read_voltage)
        arr, xp = self.array, self.array.xp
        v = (xp.asarray(vr)[:, None] - xp.asarray(vc)[None, :]).reshape(arr.size)
        cur = xp.to_numpy((arr.prefactor() * xp.sinh(v / arr.cells.V0)).reshape(self.shape))
        row_i = cur.sum(1)
        col_i = -cur.sum(0)
        s = arr.nonideal.read_noise
        if s:
            dr, dc = self._driven(rows), self._driven(cols)
            row_i = np.where(dr, row_i * (1 + s * arr.rng.standard_normal(row_i.size)), row_i)
            col_i = np.where(dc, col_i * (1 + s * arr.rng.standard_normal(col_i.size)), col_i)
        return row_i, col_i

    def cell_voltages(self, rows: Lines, cols: Lines) -> NDArray:
        """Cell voltages V_row − V_col for these line conditions at the present state (floating lines solved)."""
        vr, vc = self._solve(*self._lines(rows, cols))
        return np.subtract.outer(vr, vc)

    # --- internals ------------------------------------------------------------------------------------
    @staticmethod
    def _driven(lines: Lines) -> NDArray:
        return np.array([x is not None for x in lines])

    def _lines(self, rows: Lines, cols: Lines) -> tuple[NDArray, NDArray, NDArray, NDArray]:
        """(row volts, column volts, row floating mask, column floating mask), validated; the arrays are
        read-only and memoised (a bench repeats the same few line conditions)."""
        key = (tuple(rows), tuple(cols))
        try:
            hit = self._memo.get(key)
        except TypeError:  # unhashable entries: validated and converted without the memo
            return self._convert(rows, cols)
        if hit is not None:
            return hit
        out = self._convert(rows, cols)
        for a in out:
            a.setflags(write=False)
        if len(self._memo) >= 256:
            self._memo.clear()
        self._memo[key] = out
        return out

    def _convert(self, rows: Lines, cols: Lines) -> tuple[NDArray, NDArray, NDArray, NDArray]:
        out = []
        for name, lines, n in (("rows", rows, self.shape[0]), ("cols", cols, self.shape[1])):
            if len(lines) != n:
                raise ConfigError.invalid(name, f"{len(lines)} lines", f"exactly {n} entries (volts or None)")
            fl = np.array([x is None for x in lines])
            vals = np.array([0.0 if x is None else float(x) for x in lines])
            if not np.isfinite(vals).all():
                raise ConfigError.invalid(name, lines, "finite voltages or None")
            out += [vals, fl]
        return out[0], out[2], out[1], out[3]

    def _solve(self, vr: NDArray, vc: NDArray, fr: NDArray, fc: NDArray) -> tuple[NDArray, NDArray]:
        if not (fr.any() or fc.any()):
            return vr, vc
        arr = self.array
        a = arr.xp.to_numpy(arr.prefactor()).reshape(self.shape)
        v0 = arr.cells.V0 if isinstance(arr.cells.V0, float) else arr.xp.to_numpy(arr.cells.V0).reshape(self.shape)
        r, c, _ = solve_floating(a, v0, vr, vc, fr, fc)
        return r, c

    def _hold(self, rows: Lines, cols: Lines, duration: float, peak: NDArray) -> tuple[NDArray, NDArray]:
        vr, vc, fr, fc = self._lines(rows, cols)
        arr, xp = self.array, self.array.xp
        if not (fr.any() or fc.any()):
            v_np = np.subtract.outer(vr, vc)
            np.maximum(peak, np.abs(v_np), out=peak)
            arr._apply_flat(xp.asarray(v_np.reshape(arr.size)), duration)
            self.last_line_voltages = (vr, vc)
            return vr, vc
        # floating lines: re-solve KCL whenever the gaps have moved by up to _DG_COUPLE
        t = 0.0
        chunks = 0
        r, c = vr, vc
        while True:
            r, c = self._solve(vr, vc, fr, fc)
            v_np = np.subtract.outer(r, c)
            np.maximum(peak, np.abs(v_np), out=peak)
            left = duration - t
            if left <= 0:
                break
            v = xp.asarray(v_np.reshape(arr.size))
            speed = float(xp.to_numpy(xp.abs(velocity(arr.cells, xp, arr.gap.reshape(arr.size), v))).max())
            h = left if speed == 0 else min(left, max(_DG_COUPLE / speed, duration / _MAX_KCL_CHUNKS))
            chunks += 1
            if chunks >= _MAX_KCL_CHUNKS:
                h = left
            arr._apply_flat(v, h)
            t += h
            if h == left:
                r, c = self._solve(vr, vc, fr, fc)
                np.maximum(peak, np.abs(np.subtract.outer(r, c)), out=peak)
                break
        self.last_line_voltages = (r, c)
        return r, c
