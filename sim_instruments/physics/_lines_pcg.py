"""Preconditioned conjugate gradients for a crossbar's nodal conductance matrix.

The matrix is symmetric positive definite (wires, cell slopes dI/dV > 0 and leaks all stamp as conductances).
Preconditioner, additive two-level: (1) every line alone, exactly: the nodes are ordered line by line (row
lines row-major, column lines column-major) so that the matrix restricted to neighbours along a line is one
symmetric positive-definite tridiagonal matrix (LAPACK ``pttrf``/``pttrs``, O(n)); (2) a coarse correction
with one unknown per line (every node of a line moving together), which is the zero-wire-resistance problem,
a dense (rows + cols) Cholesky solve. Wires are far more conductive than cells, so the lines alone capture
the IR drop along each line and the coarse part the coupling of whole lines through the cells; a few tens of
iterations reach 1e-12 on 256 x 256 arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from scipy.linalg import lapack

NDArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.intp]]


class LinePattern:
    """What the preconditioner needs from a fixed sparsity pattern whose free nodes are numbered line by line:
    the data positions of the diagonal and of the couplings between consecutive nodes, and where each line's
    run of nodes starts."""

    def __init__(self, line_of: IntArray, keys: NDArray, nf: int) -> None:
        self.nf = nf
        idx = np.arange(nf)
        self.diag_pos = _positions(keys, idx, idx, nf)
        if nf > 1:
            pos = _positions(keys, idx[:-1], idx[1:], nf)
            self.off_ok = pos >= 0
            self.off_pos = np.where(self.off_ok, pos, 0)
        else:
            self.off_ok = np.zeros(0, bool)
            self.off_pos = np.zeros(0, np.intp)
        change = np.flatnonzero(np.diff(line_of)) + 1 if nf else np.zeros(0, np.intp)
        self.starts = np.concatenate([[0], change]).astype(np.intp) if nf else np.zeros(0, np.intp)
        self.counts = np.diff(np.concatenate([self.starts, [nf]])).astype(np.intp)
        group = np.repeat(np.arange(self.starts.size), self.counts)
        self.p = sp.csr_matrix((np.ones(nf), (idx, group)), shape=(nf, self.starts.size))
        self.pt = self.p.T.tocsr()


class LinePreconditioner:
    """The two-level preconditioner of one matrix ``a`` (CSC, the pattern of ``pattern``)."""

    def __init__(self, a: sp.csc_matrix, pattern: LinePattern) -> None:
        self.pattern = pattern
        data = a.data
        d = data[pattern.diag_pos]
        e: NDArray = np.where(pattern.off_ok, data[pattern.off_pos], 0.0)
        self.single = d.size == 1
        info = 0
        self.d: NDArray = d
        self.e: NDArray = e
        if not self.single:
            self.d, self.e, info = lapack.dpttrf(d, e)
        if info != 0:
            raise np.linalg.LinAlgError(f"line factorisation failed (pttrf info {info})")
        coarse = (pattern.pt @ a @ pattern.p).toarray()
        self.coarse = sla.cho_factor(coarse, lower=True, check_finite=False)

    def __call__(self, r: NDArray) -> NDArray:
        pat = self.pattern
        z: NDArray = r / self.d if self.single else lapack.dpttrs(self.d, self.e, r)[0]
        c = sla.cho_solve(self.coarse, np.add.reduceat(r, pat.starts), check_finite=False)
        z += np.repeat(c, pat.counts)
        return z


def pcg(a: sp.csc_matrix, b: NDArray, m: LinePreconditioner, tol: float, max_iter: int = 500) -> tuple[NDArray, int]:
    """Solve ``a x = b`` until max|b − a x| <= ``tol``; returns (x, iterations)."""
    x = np.zeros_like(b)
    r = b.copy()
    if float(np.abs(r).max(initial=0.0)) <= tol:
        return x, 0
    z = m(r)
    p = z.copy()
    rz = float(r @ z)
    for it in range(1, max_iter + 1):
        ap = a @ p
        alpha = rz / float(p @ ap)
        x += alpha * p
        r -= alpha * ap
        if float(np.abs(r).max()) <= tol:
            return x, it
        z = m(r)
        rz_new = float(r @ z)
        p *= rz_new / rz
        p += z
        rz = rz_new
    return x, max_iter


def _positions(keys: NDArray, rows: IntArray, cols: IntArray, nf: int) -> IntArray:
    """Data positions of entries (rows, cols) in a CSC pattern whose sorted keys are col·nf + row; −1 if absent."""
    want = cols.astype(np.int64) * nf + rows
    pos = np.searchsorted(keys, want)
    pos_c = np.minimum(pos, keys.size - 1)
    return np.where(keys[pos_c] == want, pos_c, -1).astype(np.intp)
