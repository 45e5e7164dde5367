"""``Crossbar``: line access to a 2-D :class:`RRAMArray`, ideal or with wire resistance.

Each row (top electrode) and column (bottom electrode) line is driven to a voltage, grounded (0.0) or floating
(``None``). Cell voltage = V_row − V_col. Floating lines are solved by KCL with the non-linear cell I-V
(:mod:`sim_instruments.physics.kcl`), so sneak paths and half-select disturb come out of the physics.
Pulses and reads both integrate the cell dynamics for their duration (read disturb is physical).
Line currents are the currents flowing from each line's source into the array (Σ rows = −Σ columns).

With wire resistance (``r_row``, ``r_col``, ``r_contact`` > 0, ohms) every cell has its own node on its row
and on its column line and the full network is solved (:mod:`sim_instruments.physics.nodal`) for reads,
pulses and ``cell_voltages`` alike; during a pulse the dynamics see the IR-dropped cell voltages, re-solved
whenever the gaps have moved by up to ``_DG_COUPLE``. With zero resistance the ideal path below is used.
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
from sim_instruments.physics.nodal import CellLaw, NodalNetwork, NodalSolution, SinhLaw, Wires

Lines = Sequence[float | None]
NDArray = np.ndarray[Any, np.dtype[np.float64]]

_DG_COUPLE = 2e-11  # m, largest gap change between two KCL re-solves while lines float
_MAX_KCL_CHUNKS = 400
_CACHE = 256  # line conditions whose last solutions are kept
_NETS = 16  # networks (line topologies) kept
_DV_QUIET = 2e-3  # V: successive network solves this close let the next step grow
_DV_LOUD = 2e-2  # V: ...this far apart make it shrink
_BOOST_MAX = 1e6
_MAX_NODAL_CHUNKS = 100  # network solves per hold at most (each costs ~1-20 ms on 64x64)


class Crossbar:
    """Row/column line access to a 2-D :class:`RRAMArray` (rows = TE lines, columns = BE lines).

    ``r_row``/``r_col``: ohms per line segment between neighbouring cells; ``r_contact``: ohms between a line's
    pad and its first cell. Row i is fed at its end next to column 0, column j at its end next to the last row.
    ``array`` may also be an :class:`~sim_instruments.physics.ohmic.OhmicArray` (constant conductances).
    """

    def __init__(self, array: Any, *, r_row: float = 0.0, r_col: float = 0.0, r_contact: float = 0.0) -> None:
        if len(array.shape) != 2:
            raise ConfigError.invalid("array.shape", array.shape, "a 2-D shape (rows, cols)")
        self.wires = Wires(r_row, r_col, r_contact)
        self.array = array
        self.nodal = not (self.wires.ideal and isinstance(array, RRAMArray))
        self.last_solution: NodalSolution | None = None
        self.solves = 0  # network solves requested by holds (with wire resistance)
        self._nets: dict[tuple[bytes, bytes], NodalNetwork] = {}
        self._solutions: dict[tuple[bytes, ...], tuple[Any, NodalSolution]] = {}
        self._law: tuple[Any, CellLaw] | None = None
        self._line_limits: tuple[NDArray, NDArray] | None = None
        self.shape: tuple[int, int] = (array.shape[0], array.shape[1])
        self.peak_read_voltage: NDArray = np.zeros(self.shape)
        self.peak_pulse_voltage: NDArray = np.zeros(self.shape)
        self.last_line_voltages: tuple[NDArray, NDArray] = (np.zeros(self.shape[0]), np.zeros(self.shape[1]))
        self._memo: dict[tuple[tuple[float | None, ...], tuple[float | None, ...]],
                         tuple[NDArray, NDArray, NDArray, NDArray]] = {}

    @property
    def time(self) -> float:
        """Simulated time elapsed on the array, s."""
        return float(self.array.time)

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
        if self.nodal:
            self._hold_nodal(rows, cols, width, self.peak_pulse_voltage)
            return
        self._hold(rows, cols, width, self.peak_pulse_voltage)

    def read(self, rows: Lines, cols: Lines, duration: float = 1e-6) -> tuple[NDArray, NDArray]:
        """Hold the line conditions for ``duration`` s; return (row currents, column currents), A, at the end.

        Floating lines report their KCL residual (≈ 0). Read noise, if enabled, acts on driven lines.
        """
        if not (isinstance(duration, float | int) and math.isfinite(duration) and duration >= 0):
            raise ConfigError.out_of_range("duration", duration, 0.0, None, "s")
        if self.nodal:
            sol = self._hold_nodal(rows, cols, duration, self.peak_read_voltage)
            row_i, col_i = sol.row_currents.copy(), sol.col_currents.copy()
            return self._noisy(rows, cols, row_i, col_i)
        vr, vc = self._hold(rows, cols, duration, self.peak_read_voltage)
        arr, xp = self.array, self.array.xp
        v = (xp.asarray(vr)[:, None] - xp.asarray(vc)[None, :]).reshape(arr.size)
        cur = xp.to_numpy((arr.prefactor() * xp.sinh(v / arr.cells.V0)).reshape(self.shape))
        return self._noisy(rows, cols, cur.sum(1), -cur.sum(0))

    def _noisy(self, rows: Lines, cols: Lines, row_i: NDArray, col_i: NDArray) -> tuple[NDArray, NDArray]:
        arr = self.array
        s = arr.nonideal.read_noise
        if s:
            dr, dc = self._driven(rows), self._driven(cols)
            row_i = np.where(dr, row_i * (1 + s * arr.rng.standard_normal(row_i.size)), row_i)
            col_i = np.where(dc, col_i * (1 + s * arr.rng.standard_normal(col_i.size)), col_i)
        return row_i, col_i

    def set_line_limits(self, rows: Sequence[float | None], cols: Sequence[float | None]) -> None:
        """The current compliance of the source on each row and column line (A; None: no limit, e.g. ground or
        floating). A cell's compliance is the tighter of its two lines'; the physics uses it when a virgin cell
        forms (the first filament's strength follows the compliance)."""
        if not hasattr(self.array, "compliance"):
            return
        r = np.array([np.inf if x is None else float(x) for x in rows])
        c = np.array([np.inf if x is None else float(x) for x in cols])
        if r.size != self.shape[0] or c.size != self.shape[1]:
            raise ConfigError.invalid("line limits", f"{r.size} x {c.size}", f"{self.shape[0]} x {self.shape[1]}")
        self.array.compliance = np.minimum.outer(r, c)
        self.array.headroom = self.array.compliance
        self._line_limits = (r, c) if np.isfinite(r).any() or np.isfinite(c).any() else None

    def _limit_cells(self, v_cells: NDArray) -> None:
        """Each cell's current limit for a hold that starts at cell voltages ``v_cells``: the compliance of its
        lines less what the other cells on each line draw (the source feeds them too), as a source in compliance
        leaves the cell that switches only its headroom. Cells switch one at a time on a line, the others stay
        near their starting currents."""
        if self._line_limits is None or not isinstance(self.array, RRAMArray):
            return
        r, c = self._line_limits
        cur = np.asarray(self.array.xp.to_numpy(self.array.current(v_cells)), dtype=np.float64).reshape(self.shape)
        head_r = r[:, None] - np.abs(cur.sum(1, keepdims=True) - cur)
        head_c = c[None, :] - np.abs(cur.sum(0, keepdims=True) - cur)
        self.array.headroom = np.maximum(np.minimum(head_r, head_c), 1e-12)

    def cell_voltages(self, rows: Lines, cols: Lines) -> NDArray:
        """Cell voltages V_top − V_bottom for these line conditions at the present state (floating lines and,
        with wire resistance, the IR drop solved)."""
        if self.nodal:
            return self._solve_nodal(*self._lines(rows, cols)).cell_voltages
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
        arr.begin_bias()
        if not (fr.any() or fc.any()):
            v_np = np.subtract.outer(vr, vc)
            np.maximum(peak, np.abs(v_np), out=peak)
            self._limit_cells(v_np)
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
            if chunks == 0:
                self._limit_cells(v_np)
            left = duration - t
            if left <= 0:
                break
            v = xp.asarray(v_np.reshape(arr.size))
            speed = float(xp.to_numpy(xp.abs(velocity(arr.cells, xp, arr.gap.reshape(arr.size), arr.limited(v)))).max())
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

    # --- with wire resistance ---------------------------------------------------------------------------
    def _cell_law(self) -> tuple[Any, CellLaw]:
        """(token, law): the token changes whenever the cells' I-V does (the array's prefactor object)."""
        arr = self.array
        if not isinstance(arr, RRAMArray):
            law: CellLaw = arr.cell_law()
            return law, law
        pref = arr.prefactor()
        if self._law is None or self._law[0] is not pref:
            v0 = arr.cells.V0
            v0n = float(v0) if isinstance(v0, float | int) else arr.xp.to_numpy(v0).astype(np.float64)
            self._law = (pref, SinhLaw(arr.xp.to_numpy(pref).astype(np.float64), v0n))
        return self._law

    def _solve_nodal(self, vr: NDArray, vc: NDArray, fr: NDArray, fc: NDArray) -> NodalSolution:
        """The network solution for these lines at the present state (cached until the state changes;
        a changed state starts Newton from the last solution of the same lines)."""
        token, law = self._cell_law()
        key = (vr.tobytes(), vc.tobytes(), fr.tobytes(), fc.tobytes())
        hit = self._solutions.get(key)
        if hit is not None and hit[0] is token:
            return hit[1]
        topo = (key[2], key[3])
        net = self._nets.get(topo)
        if net is None:
            if len(self._nets) >= _NETS:
                self._nets.pop(next(iter(self._nets)))
            net = self._nets[topo] = NodalNetwork(self.shape, self.wires, fr.astype(bool), fc.astype(bool))
        # warm start: this line condition's last solution, else the network's nearest recent one, shifted
        sol = net.solve(law, vr, vc, start=hit[1].free if hit is not None else net.warm_start(vr, vc))
        if len(self._solutions) >= _CACHE:
            self._solutions.clear()
        self._solutions[key] = (token, sol)
        return sol

    def _hold_nodal(self, rows: Lines, cols: Lines, duration: float, peak: NDArray) -> NodalSolution:
        """Hold the lines for ``duration`` s, re-solving the network as the gaps move (cells below their
        switching gate do not move: one solve). A step lets the fastest cell move ``_DG_COUPLE`` times a factor
        that grows 4x while successive solves change no cell voltage by more than ``_DV_QUIET`` and halves when
        one changes by more than ``_DV_LOUD`` (at most ``_MAX_NODAL_CHUNKS`` steps): re-solves follow the changes
        the wires actually see."""
        lines = self._lines(rows, cols)
        arr = self.array
        if isinstance(arr, RRAMArray):
            arr.begin_bias()
        t, chunks, boost = 0.0, 0, 1.0
        v_prev: NDArray | None = None
        while True:
            sol = self._solve_nodal(*lines)
            v_np = sol.cell_voltages
            np.maximum(peak, np.abs(v_np), out=peak)
            if v_prev is None and isinstance(arr, RRAMArray):
                self._limit_cells(v_np)
            if v_prev is not None:
                dv = float(np.abs(v_np - v_prev).max())
                boost = min(boost * 4.0, _BOOST_MAX) if dv < _DV_QUIET else max(boost * 0.5, 1.0) if dv > _DV_LOUD \
                    else boost
            v_prev = v_np
            left = duration - t
            if left <= 0:
                break
            v = arr.xp.asarray(v_np.reshape(arr.size))
            speed = _moving_speed(arr, v) if isinstance(arr, RRAMArray) else 0.0
            h = left if speed == 0 else min(left, max(boost * _DG_COUPLE / speed, duration / _MAX_NODAL_CHUNKS))
            chunks += 1
            if chunks >= _MAX_NODAL_CHUNKS:
                h = left
            arr._apply_flat(v, h)
            t += h
            if h == left:
                sol = self._solve_nodal(*lines)
                np.maximum(peak, np.abs(sol.cell_voltages), out=peak)
                break
        self.solves += chunks + 1
        self.last_solution = sol
        self.last_line_voltages = (sol.top[:, 0].copy(), sol.bottom[-1, :].copy())
        return sol


def _moving_speed(arr: RRAMArray, v: Any) -> float:
    """Largest |dg/dt| of the cells that can move under cell voltages ``v``, m/s: not virgin, not held after
    forming, not stuck, and not pressed against the gap bound they sit on."""
    xp, p = arr.xp, arr.params
    g = arr.gap.reshape(arr.size)
    vel = np.asarray(xp.to_numpy(velocity(arr.cells, xp, g, arr.limited(v))), dtype=np.float64)
    gn = np.asarray(xp.to_numpy(g))
    fixed = (arr.virgin | arr._held | arr.stuck_on | arr.stuck_off).ravel()
    if not p.strict_v1:  # windup (strict v1) moves the hidden state beyond the bounds: every cell counts
        fixed = fixed | ((gn <= p.gap_min) & (vel < 0)) | ((gn >= p.gap_max) & (vel > 0))
    return float(np.abs(vel[~fixed]).max(initial=0.0))
