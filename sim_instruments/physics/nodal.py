"""The nodal network of a crossbar with wire resistance, solved by Newton's method on a sparse system.

Layout (the one most IR-drop papers and badcrossbar use): cell (i, j) joins a *top* node on row line i to a
*bottom* node on column line j. Neighbouring top nodes of a row are joined by ``r_row`` ohms, neighbouring
bottom nodes of a column by ``r_col``. Row i is fed at its end next to column 0, column j at its end next to
the last row, each through ``r_contact`` ohms from its pad. A zero segment resistance merges a line's nodes
into one; a zero contact resistance ties a driven line's end node to its source. A floating line has no pad
connection; every node of it leaks ``LEAK`` S to ground so the answer is unique.

Unknowns are the free node voltages. The residual (net current leaving each free node) is the gradient of the
strictly convex co-content ``E = Σ_cells ∫I dV + Σ_wires ½·G·ΔV²``, so Newton with backtracking on ``E``
converges from any start. The Jacobian is a symmetric positive-definite conductance matrix whose sparsity
pattern is built once per topology (:class:`NodalNetwork`); each Newton iteration only refills its values and
factorises it (SuperLU). The cell law is any :class:`CellLaw`: the non-linear ``I = a·sinh(V/V0)`` of the
Stanford/PKU model (:class:`SinhLaw`) or constant conductances (:class:`LinearLaw`, for validation).

:func:`solve_crossbar` is the pure entry point (conductances or a cell law, line drives and resistances in,
cell voltages and line currents out) for callers outside the simulator, e.g. a trainer's IR-drop model.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp

from labctl.core.errors import ConfigError
from sim_instruments.physics._lines_pcg import LinePattern, LinePreconditioner, pcg

NDArray = np.ndarray[Any, np.dtype[np.float64]]
BoolArray = np.ndarray[Any, np.dtype[np.bool_]]
IntArray = np.ndarray[Any, np.dtype[np.intp]]

LEAK = 1e-15  # S, tie of every floating line node to ground (keeps the Jacobian non-singular)
_RECENT = 8  # recent solves a network keeps for warm starts (the nearest levels, shifted)

_threads: Any = None


@contextlib.contextmanager
def blas_single_thread() -> Iterator[None]:
    """BLAS on one thread: the solver's dense parts are small, and a busy machine makes threaded BLAS spin."""
    global _threads
    if _threads is None:
        from threadpoolctl import ThreadpoolController

        _threads = ThreadpoolController()
    with _threads.limit(limits=1, user_api="blas"):
        yield


class CellLaw(Protocol):
    """A cell's I-V: current and its slope dI/dV for flat arrays of cell voltages, and the co-content ∫I dV."""

    def current(self, v: NDArray) -> NDArray: ...

    def slope(self, v: NDArray) -> NDArray: ...

    def cocontent(self, v: NDArray) -> float: ...


@dataclass(frozen=True)
class SinhLaw:
    """``I = a·sinh(V/V0)`` (Stanford/PKU eq. 6; ``a`` = I0·exp(−g/g0) per cell, ``v0`` scalar or per cell)."""

    a: NDArray
    v0: NDArray | float

    def current(self, v: NDArray) -> NDArray:
        return self.a * np.sinh(v / self.v0)

    def slope(self, v: NDArray) -> NDArray:
        return self.a / self.v0 * np.cosh(v / self.v0)

    def cocontent(self, v: NDArray) -> float:
        return float((self.a * self.v0 * np.cosh(v / self.v0)).sum())


@dataclass(frozen=True)
class LinearLaw:
    """Ohmic cells: ``I = g·V`` (g per cell, S)."""

    g: NDArray
    linear = True

    def current(self, v: NDArray) -> NDArray:
        return self.g * v

    def slope(self, v: NDArray) -> NDArray:
        return self.g + 0.0 * v

    def cocontent(self, v: NDArray) -> float:
        return float(0.5 * (self.g * v * v).sum())


@dataclass(frozen=True)
class Wires:
    """Wire resistances, ohms: per row segment, per column segment, and pad contact."""

    r_row: float = 0.0
    r_col: float = 0.0
    r_contact: float = 0.0

    def __post_init__(self) -> None:
        for name in ("r_row", "r_col", "r_contact"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not (
                    math.isfinite(value) and 0.0 <= value <= 1e9):
                raise ConfigError.out_of_range(name, value, 0.0, 1e9, "ohm")

    @property
    def ideal(self) -> bool:
        return self.r_row == 0 and self.r_col == 0 and self.r_contact == 0


@dataclass(frozen=True)
class NodalSolution:
    """Solved network: per cell the top (row-line) and bottom (column-line) node voltages, V; per line the
    current flowing from its source into the array, A (a floating line reports its KCL residual, ≈ 0)."""

    top: NDArray
    bottom: NDArray
    row_currents: NDArray
    col_currents: NDArray
    iterations: int
    free: NDArray  # the free-node voltages (a warm start for the next solve of the same topology)

    @property
    def cell_voltages(self) -> NDArray:
        """V(top) − V(bottom) per cell, V."""
        return self.top - self.bottom


class NodalNetwork:
    """Topology and sparse pattern of one crossbar: shape, wires, and which lines float."""

    def __init__(self, shape: tuple[int, int], wires: Wires, float_r: BoolArray, float_c: BoolArray) -> None:
        nr, nc = shape
        self.shape = shape
        self.wires = wires
        self.float_r, self.float_c = np.asarray(float_r, bool), np.asarray(float_c, bool)
        ii, jj = np.meshgrid(np.arange(nr), np.arange(nc), indexing="ij")
        n_top = nr * nc if wires.r_row > 0 else nr
        n_bot = nr * nc if wires.r_col > 0 else nc
        top = (ii * nc + jj) if wires.r_row > 0 else ii
        bot = n_top + ((ii * nc + jj) if wires.r_col > 0 else jj)
        self.top, self.bot = top.ravel(), bot.ravel()
        pads = wires.r_contact > 0
        n_all = n_top + n_bot + (nr + nc if pads else 0)
        self.n_all = n_all
        row_end = top[:, 0]
        col_end = bot[nr - 1, :]
        # conductors: (node a, node b, G); pads are extra nodes tied to their sources
        ea: list[IntArray] = []
        eb: list[IntArray] = []
        eg: list[NDArray] = []
        if wires.r_row > 0 and nc > 1:
            ea.append(top[:, :-1].ravel())
            eb.append(top[:, 1:].ravel())
            eg.append(np.full(nr * (nc - 1), 1.0 / wires.r_row))
        if wires.r_col > 0 and nr > 1:
            ea.append(bot[:-1, :].ravel())
            eb.append(bot[1:, :].ravel())
            eg.append(np.full((nr - 1) * nc, 1.0 / wires.r_col))
        driven_r, driven_c = np.flatnonzero(~self.float_r), np.flatnonzero(~self.float_c)
        # the node each driven line's source sets (its pad, or its end node without contact resistance)
        self.row_src = np.full(nr, -1, dtype=np.intp)
        self.col_src = np.full(nc, -1, dtype=np.intp)
        if pads:
            self.row_src[driven_r] = n_top + n_bot + driven_r
            self.col_src[driven_c] = n_top + n_bot + nr + driven_c
            ea += [row_end[driven_r], col_end[driven_c]]
            eb += [self.row_src[driven_r], self.col_src[driven_c]]
            eg.append(np.full(driven_r.size + driven_c.size, 1.0 / wires.r_contact))
        else:
            self.row_src[driven_r] = row_end[driven_r]
            self.col_src[driven_c] = col_end[driven_c]
        self.ea = np.concatenate(ea) if ea else np.zeros(0, np.intp)
        self.eb = np.concatenate(eb) if eb else np.zeros(0, np.intp)
        self.eg = np.concatenate(eg) if eg else np.zeros(0)
        fixed = np.zeros(n_all, bool)
        fixed[self.row_src[driven_r]] = True
        fixed[self.col_src[driven_c]] = True
        if pads:  # pads of floating lines: unconnected, held at 0
            fixed[n_top + n_bot:] = True
        self.fixed = fixed
        # nodes of floating lines leak to ground
        leak = np.zeros(n_all)
        leak[np.unique(top[self.float_r].ravel())] = LEAK
        leak[np.unique(bot[:, self.float_c].ravel())] = LEAK
        self.leak = leak
        # free nodes numbered line by line (row lines row-major, then column lines column-major): the matrix
        # restricted to neighbours along a line is then tridiagonal in this numbering (the PCG preconditioner)
        line = np.full(n_all, -1, dtype=np.intp)
        line[self.top] = ii.ravel()
        line[self.bot] = nr + jj.ravel()
        seq = np.concatenate([self.top, bot.T.ravel()])
        _, first = np.unique(seq, return_index=True)
        seq = seq[np.sort(first)]
        free = seq[~fixed[seq]]
        self.free = free
        self._line_of_free = line[free]
        fidx = np.full(n_all, -1, dtype=np.intp)
        fidx[free] = np.arange(free.size)
        self.fidx = fidx
        self.linear_iterations = 0
        self._precond: LinePreconditioner | None = None
        self._precond_its = -1
        self._recent: list[tuple[NDArray, NDArray, NDArray]] = []  # (vr, vc, free nodes) of the last solves
        self._pattern()

    # --- sparse pattern ----------------------------------------------------------------------------------
    def _pattern(self) -> None:
        """Positions of every stamp in the CSC data of the free-node matrix (built once)."""
        nf = self.free.size
        self.nf = nf
        if nf == 0:
            return
        f = self.fidx
        n_cells = self.top.size
        # stamps: (free row, free col, source) with source >= 0 a cell index, < 0 a constant (wire or leak)
        rows: list[IntArray] = []
        cols: list[IntArray] = []
        cell_of: list[IntArray] = []
        sign: list[NDArray] = []
        const_val: list[NDArray] = []
        for a_nodes, b_nodes, src, g in (
            (self.top, self.bot, np.arange(n_cells), None),
            (self.ea, self.eb, None, self.eg),
        ):
            fa, fb = f[a_nodes], f[b_nodes]
            for r, c, s in ((fa, fa, 1.0), (fb, fb, 1.0), (fa, fb, -1.0), (fb, fa, -1.0)):
                ok = (r >= 0) & (c >= 0)
                rows.append(r[ok])
                cols.append(c[ok])
                if src is not None:
                    cell_of.append(src[ok])
                    sign.append(np.full(int(ok.sum()), s))
                    const_val.append(np.zeros(0))
                else:
                    assert g is not None
                    cell_of.append(np.full(int(ok.sum()), -1, dtype=np.intp))
                    sign.append(np.zeros(int(ok.sum())))
                    const_val.append(s * g[ok])
        lk = np.flatnonzero(self.leak[self.free] > 0)
        rows.append(lk)
        cols.append(lk)
        cell_of.append(np.full(lk.size, -1, dtype=np.intp))
        sign.append(np.zeros(lk.size))
        const_val.append(np.full(lk.size, LEAK))
        # every free node also carries a structural diagonal (a node touched by nothing stays solvable)
        diag = np.arange(nf)
        rows.append(diag)
        cols.append(diag)
        cell_of.append(np.full(nf, -1, dtype=np.intp))
        sign.append(np.zeros(nf))
        const_val.append(np.zeros(nf))
        r_all, c_all = np.concatenate(rows), np.concatenate(cols)
        # the pattern by scipy's O(nnz) COO -> CSC conversion (canonical: sorted, duplicates merged), then each
        # stamp's data position by binary search of its key (column-major) among the pattern's sorted keys
        pat = sp.csc_matrix((np.ones(r_all.size), (r_all, c_all)), shape=(nf, nf))
        pat.sum_duplicates()
        uniq = np.repeat(np.arange(nf, dtype=np.int64), np.diff(pat.indptr)) * nf + pat.indices
        inv = np.searchsorted(uniq, c_all.astype(np.int64) * nf + r_all)
        self.nnz = uniq.size
        self._lines = self._line_pattern(uniq)
        self.indices = (uniq % nf).astype(np.int32)
        self.indptr = np.searchsorted(uniq // nf, np.arange(nf + 1)).astype(np.int32)
        cell = np.concatenate(cell_of)
        is_cell = cell >= 0
        self._cell_pos = inv[is_cell]
        self._cell_idx = cell[is_cell]
        self._cell_sign = np.concatenate(sign)[is_cell]
        consts = np.concatenate([c for c in const_val if c.size] or [np.zeros(0)])
        self._const = np.bincount(inv[~is_cell], weights=consts, minlength=self.nnz)
        isolated = np.bincount(inv[~is_cell], weights=np.abs(consts), minlength=self.nnz)
        cell_touch = np.bincount(self._cell_pos, minlength=self.nnz)
        diag_pos = inv[-nf:]
        # a free node with neither a conductor nor a cell (cannot happen in a crossbar) would be singular
        self._lonely = diag_pos[(isolated[diag_pos] == 0) & (cell_touch[diag_pos] == 0)]

    def _line_pattern(self, keys: NDArray) -> LinePattern:
        """The preconditioner's view of the pattern (free nodes are already numbered line by line)."""
        return LinePattern(self._line_of_free, keys, self.nf)

    def matrix(self, slope: NDArray) -> sp.csc_matrix:
        """The free-node Jacobian for cell slopes dI/dV ``slope`` (flat, one per cell)."""
        data = self._const + np.bincount(self._cell_pos, weights=slope[self._cell_idx] * self._cell_sign,
                                         minlength=self.nnz)
        if self._lonely.size:
            data[self._lonely] = 1.0
        m = sp.csc_matrix((data, self.indices, self.indptr), shape=(self.nf, self.nf))
        return m

    # --- evaluation --------------------------------------------------------------------------------------
    def node_voltages(self, vr: NDArray, vc: NDArray, u: NDArray) -> NDArray:
        """All node voltages from driven line levels ``vr``/``vc`` and free-node voltages ``u``."""
        v = np.zeros(self.n_all)
        dr, dc = self.row_src >= 0, self.col_src >= 0
        v[self.row_src[dr]] = vr[dr]
        v[self.col_src[dc]] = vc[dc]
        v[self.free] = u
        return v

    def injections(self, law: CellLaw, v: NDArray) -> tuple[NDArray, NDArray, float]:
        """(net current leaving every node through its elements, cell voltages, co-content)."""
        vcell = v[self.top] - v[self.bot]
        icell = law.current(vcell)
        dv = v[self.ea] - v[self.eb]
        iw = self.eg * dv
        n = self.n_all
        out = (np.bincount(self.top, weights=icell, minlength=n) - np.bincount(self.bot, weights=icell, minlength=n)
               + np.bincount(self.ea, weights=iw, minlength=n) - np.bincount(self.eb, weights=iw, minlength=n)
               + self.leak * v)
        energy = law.cocontent(vcell) + float(0.5 * (self.eg * dv * dv).sum()) + float(0.5 * (self.leak * v * v).sum())
        return out, vcell, energy

    def solve(self, law: CellLaw, vr: NDArray, vc: NDArray, *, start: NDArray | None = None,
              atol: float = 1e-15, rtol: float = 1e-11, max_iter: int = 100) -> NodalSolution:
        """Newton with backtracking on the co-content. ``vr``/``vc``: driven levels (floating entries ignored);
        ``start``: free-node voltages of an earlier solve of this network (warm start)."""
        with blas_single_thread():
            return self._solve(law, vr, vc, start, atol, rtol, max_iter)

    def _solve(self, law: CellLaw, vr: NDArray, vc: NDArray, start: NDArray | None, atol: float, rtol: float,
               max_iter: int) -> NodalSolution:
        vr, vc = np.asarray(vr, np.float64), np.asarray(vc, np.float64)
        if start is not None and start.shape == (self.nf,):
            u = start.astype(np.float64, copy=True)
        else:
            u = self._guess(vr, vc)
        v = self.node_voltages(vr, vc, u)
        inj, vcell, energy = self.injections(law, v)
        it = 0
        scale = max(float(np.abs(inj[self.fixed]).max(initial=0.0)), float(np.abs(law.current(vcell)).max(initial=0.0)))
        while it < max_iter:
            f = inj[self.free]
            if float(np.abs(f).max(initial=0.0)) <= atol + rtol * scale:
                break
            it += 1
            a = self.matrix(law.slope(vcell))
            fmax = float(np.abs(f).max())
            target = atol + rtol * scale
            eta = 0.0 if getattr(law, "linear", False) else min(1e-2, fmax / max(scale, 1e-300))
            lin_tol = max(0.5 * target if eta == 0.0 else 0.1 * target, eta * fmax)
            if self._precond is None:
                self._precond, self._precond_its = LinePreconditioner(a, self._lines), -1
            step, n_lin = pcg(a, f, self._precond, lin_tol)
            if self._precond_its < 0:
                self._precond_its = n_lin
            elif n_lin > 2 * self._precond_its + 4:  # the cells moved away from the preconditioner: rebuild it
                self._precond = None
            self.linear_iterations += n_lin
            t = 1.0
            while True:
                u_new = u - t * step
                v_new = self.node_voltages(vr, vc, u_new)
                inj_new, vcell_new, e_new = self.injections(law, v_new)
                if (e_new <= energy - 1e-4 * t * float(f @ step)
                        or float(np.abs(inj_new[self.free]).max()) <= 0.5 * fmax or t < 1e-10):
                    break
                t *= 0.5
            u, v, inj, vcell, energy = u_new, v_new, inj_new, vcell_new, e_new
            scale = max(scale, float(np.abs(inj[self.fixed]).max(initial=0.0)))
        nr, nc = self.shape
        row_i = np.where(self.row_src >= 0, inj[np.maximum(self.row_src, 0)], 0.0)
        col_i = np.where(self.col_src >= 0, inj[np.maximum(self.col_src, 0)], 0.0)
        if self.float_r.any() or self.float_c.any():  # a floating line: its KCL residual over its nodes
            res = inj - self.leak * v
            top2, bot2 = self.top.reshape(nr, nc), self.bot.reshape(nr, nc)
            for i in np.flatnonzero(self.float_r):
                row_i[i] = float(res[np.unique(top2[i])].sum())
            for j in np.flatnonzero(self.float_c):
                col_i[j] = float(res[np.unique(bot2[:, j])].sum())
        self._recent.append((vr.copy(), vc.copy(), u))
        if len(self._recent) > _RECENT:
            self._recent.pop(0)
        return NodalSolution(v[self.top].reshape(nr, nc), v[self.bot].reshape(nr, nc), row_i, col_i, it, u)

    def warm_start(self, vr: NDArray, vc: NDArray) -> NDArray | None:
        """A start for driven levels ``vr``/``vc``: of the recent solves, the one with the nearest levels (largest
        line difference), :meth:`shifted` to them; None before the first solve."""
        best, dist = None, math.inf
        for r0, c0, u in self._recent:
            d = max(float(np.abs(np.where(self.float_r, 0.0, vr - r0)).max(initial=0.0)),
                    float(np.abs(np.where(self.float_c, 0.0, vc - c0)).max(initial=0.0)))
            if d < dist:
                best, dist = (r0, c0, u), d
        return None if best is None else self.shifted(best[2], best[0], best[1], vr, vc)

    def shifted(self, u: NDArray, vr0: NDArray, vc0: NDArray, vr: NDArray, vc: NDArray) -> NDArray:
        """A warm start for driven levels ``vr``/``vc`` from free-node voltages ``u`` solved at ``vr0``/``vc0``:
        every node moved by its line's change of level (the lines' IR drops kept; floating lines unmoved)."""
        d = np.concatenate([np.where(self.float_r, 0.0, np.asarray(vr, np.float64) - vr0),
                            np.where(self.float_c, 0.0, np.asarray(vc, np.float64) - vc0)])
        out: NDArray = u + d[self._line_of_free]
        return out

    def _guess(self, vr: NDArray, vc: NDArray) -> NDArray:
        """Start: each line node at its line's driven level (floating lines at 0)."""
        v = np.zeros(self.n_all)
        nr, nc = self.shape
        top2, bot2 = self.top.reshape(nr, nc), self.bot.reshape(nr, nc)
        v[top2] = np.where(self.float_r, 0.0, vr)[:, None]
        v[bot2] = np.where(self.float_c, 0.0, vc)[None, :]
        out: NDArray = v[self.free]
        return out


def solve_crossbar(
    cells: CellLaw | NDArray, rows: Any, cols: Any, *, r_row: float = 0.0, r_col: float = 0.0,
    r_contact: float = 0.0,
) -> NodalSolution:
    """Cell voltages and line currents of a crossbar with wire resistance (a pure function).

    ``cells``: a :class:`CellLaw` or a (rows, cols) array of constant conductances, S. ``rows``/``cols``: one
    entry per line, a voltage or None (floating). Resistances in ohms (layout in the module docstring).
    """
    law: CellLaw
    if isinstance(cells, np.ndarray):
        if cells.ndim != 2 or not np.isfinite(cells).all() or (cells < 0).any():
            raise ConfigError.invalid("cells", f"shape {cells.shape}", "a 2-D array of finite conductances >= 0, S")
        shape = (int(cells.shape[0]), int(cells.shape[1]))
        law = LinearLaw(np.asarray(cells, np.float64).ravel())
    else:
        law = cells
        shape = (len(rows), len(cols))
    if len(rows) != shape[0] or len(cols) != shape[1]:
        raise ConfigError.invalid("rows/cols", f"{len(rows)} x {len(cols)} lines", f"{shape[0]} x {shape[1]}")
    fr = np.array([x is None for x in rows])
    fc = np.array([x is None for x in cols])
    vr = np.array([0.0 if x is None else float(x) for x in rows])
    vc = np.array([0.0 if x is None else float(x) for x in cols])
    net = NodalNetwork(shape, Wires(r_row, r_col, r_contact), fr, fc)
    return net.solve(law, vr, vc)
