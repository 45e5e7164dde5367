"""Floating-line voltages of a crossbar by Kirchhoff's current law with the non-linear cell I-V.

Unknowns: the voltages of the floating rows and columns. Residual: the net current leaving each floating
line through its cells, ``F_i = Σ_j I(g_ij, V_i − V_j)`` (rows) and ``F_j = −Σ_i I(g_ij, V_i − V_j)`` (columns).
Since ``I = a·sinh(ΔV/V0)`` is monotone, ``F`` is the gradient of the strictly convex energy
``E = Σ a·V0·cosh(ΔV/V0)``, so Newton's method with backtracking on ``E`` converges from any start.
A floating line connected to nothing driven is tied to 0 V by a negligible leak (``LEAK`` S) so the answer is
unique. Dense Jacobian (at most rows + cols unknowns); solved in NumPy float64 on every backend.
"""

from __future__ import annotations

from typing import Any

import numpy as np

LEAK = 1e-15  # S, tie of every floating line to ground (keeps the Jacobian non-singular)

NDArray = np.ndarray[Any, np.dtype[np.float64]]


def solve_floating(
    a: NDArray, v0: NDArray | float, vr: NDArray, vc: NDArray, float_r: NDArray, float_c: NDArray,
    *, atol: float = 1e-15, rtol: float = 1e-11, max_iter: int = 200,
) -> tuple[NDArray, NDArray, int]:
    """Line voltages with the floating ones solved. ``a`` = I0·exp(−g/g0) per cell (R, C); ``v0`` = V0
    (scalar or (R, C)); ``vr``/``vc`` driven voltages (floating entries ignored); ``float_r``/``float_c``
    boolean masks. Returns (row voltages, column voltages, Newton iterations)."""
    vr, vc = vr.astype(np.float64).copy(), vc.astype(np.float64).copy()
    fr, fc = np.flatnonzero(float_r), np.flatnonzero(float_c)
    nr, nc = fr.size, fc.size
    if nr + nc == 0:
        return vr, vc, 0
    vr[fr] = 0.0
    vc[fc] = 0.0
    inv_v0 = 1.0 / np.asarray(v0, dtype=np.float64)

    def unpack(u: NDArray) -> tuple[NDArray, NDArray]:
        r, c = vr.copy(), vc.copy()
        r[fr], c[fc] = u[:nr], u[nr:]
        return r, c

    def residual(u: NDArray) -> tuple[NDArray, float, NDArray, NDArray]:
        r, c = unpack(u)
        x = (r[:, None] - c[None, :]) * inv_v0
        cur = a * np.sinh(x)
        f = np.concatenate([cur[fr].sum(1), -cur[:, fc].sum(0)]) + LEAK * u
        energy = float((a * np.cosh(x) / inv_v0).sum() + 0.5 * LEAK * (u @ u))
        return f, energy, x, cur

    u = np.zeros(nr + nc)
    f, energy, x, cur = residual(u)
    scale = float(np.abs(cur).max(initial=0.0))
    for it in range(1, max_iter + 1):
        if float(np.abs(f).max()) <= atol + rtol * scale:
            r, c = unpack(u)
            return r, c, it - 1
        cond = a * np.cosh(x) * inv_v0
        jac = np.empty((nr + nc, nr + nc))
        jac[:nr, :nr] = np.diag(cond[fr].sum(1))
        jac[nr:, nr:] = np.diag(cond[:, fc].sum(0))
        off = -cond[np.ix_(fr, fc)]
        jac[:nr, nr:] = off
        jac[nr:, :nr] = off.T
        jac[np.diag_indices(nr + nc)] += LEAK
        step = np.linalg.solve(jac, f)
        t = 1.0
        while True:
            u_new = u - t * step
            f_new, e_new, x_new, cur_new = residual(u_new)
            if e_new <= energy - 1e-4 * t * float(f @ step) or t < 1e-12:
                break
            t *= 0.5
        u, f, energy, x, cur = u_new, f_new, e_new, x_new, cur_new
        scale = max(scale, float(np.abs(cur).max(initial=0.0)))
    r, c = unpack(u)
    return r, c, max_iter
