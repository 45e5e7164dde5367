""":func:`sim_instruments.physics._integrate.advance` compiled per cell (numba), for NumPy arrays.

The same scheme step for step: the gate test at the start, the substeps of at most ``dg_max``, each cell's own
clock, blocks of 4, 16, 64, ... substeps per cell capped as the vectorised loop caps them, the same sums in the
same order and the same interpolation inside the last substep, so the results agree with the vectorised loop but for
the last bits of the elementary functions (libm's ``exp``/``sinh`` here, NumPy's SIMD ones there; relative 1e-12 in
``tests/physics/test_integrate_jit.py``, most cells bit for bit). A hold on
a few cells (a pulse, a verify read) then costs microseconds instead of the ~40 array operations per block of
the vectorised loop, whose cost on a handful of cells is all overhead. Not for windup (``strict_v1``) or torch
tensors: those keep the vectorised loop. :data:`AVAILABLE` is False without numba or with the environment
variable ``LABCTL_SIM_JIT=0``.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sim_instruments.physics._cells import CellParams
    from sim_instruments.physics._integrate import Bias

try:  # numba is optional: without it every hold takes the vectorised loop
    import numba
except ImportError:  # pragma: no cover - exercised where numba is absent
    numba = None  # type: ignore[assignment]

AVAILABLE = numba is not None and os.environ.get("LABCTL_SIM_JIT", "1") != "0"

MAX_BLOCK_ELEMS = 1 << 19  # cells x substeps per block, the cap of both loops


# scalar forms of _cells.gap_power and _cells.limited_voltage (numba compiles scalar code; same operations)
def _gap_power(xg: float, alpha: float) -> float:
    if alpha == 3.0:
        return xg * xg * xg
    if alpha == 1.0:
        return xg
    if alpha == 0.5:
        return math.sqrt(xg)
    if alpha == 2.0:
        return xg * xg
    return float(xg ** alpha)


def _limited(g: float, v: float, icc: float, i0: float, g0: float, v0c: float) -> float:
    x = min(icc / (i0 * math.exp(-g / g0)), 1e150)
    vmax = v0c * math.log(x + math.sqrt(x * x + 1.0))
    if abs(v) > vmax:
        return vmax if v > 0 else -vmax
    return v


def _advance(x: Any, v: Any, tau: Any, dg_max: float, gam0: Any, bet: Any, g_end: Any, direction: Any, heat: Any,
             icc: Any, i0: Any, g0: Any, v0c: Any, vel0: Any, aea: Any, c_sw: float, t0: float, rth: float,
             g1: float, alpha: float, fmin_tox: float, gmin: float, gmax: float, use_heat: bool, use_lim: bool,
             heating: bool) -> Any:
    """New states of cells ``x`` (all arguments per cell, float64 vectors, or constants); the arguments of
    ``_integrate.advance`` with its :class:`Bias` unpacked and the constants of ``CellParams`` spelled out."""
    n = x.shape[0]
    out = x + 0.0
    inv_g1 = 1.0 / g1
    g = np.empty(n)
    nsub = np.empty(n)
    step = np.empty(n)
    marching = np.zeros(n, dtype=np.bool_)
    hot = use_heat or (use_lim and heating)  # the temperature follows the substep's gap (and limited voltage)
    m = 0
    for i in range(n):
        gi = min(max(x[i], gmin), gmax)
        g[i] = gi
        vn = _limited(gi, v[i], icc[i], i0[i], g0[i], v0c[i]) if use_lim else v[i]
        if (gam0[i] - bet[i] * _gap_power(gi * inv_g1, alpha)) * abs(vn) >= fmin_tox:
            dist = abs(g_end[i] - gi)
            if dist > 0:
                ns = max(math.ceil(dist / dg_max), 1.0)
                nsub[i] = ns
                step[i] = dist / ns
                marching[i] = True
                m += 1
    clock = np.zeros(n)
    k_done = np.zeros(n)
    block = 4
    while m > 0:
        kb = max(1, min(block, MAX_BLOCK_ELEMS // m))
        ended = 0
        for i in range(n):
            if not marching[i]:
                continue
            s = 0.0
            t_prev = clock[i]
            done = False
            for a in range(kb):
                kk = k_done[i] + a
                if kk < nsub[i]:
                    gm = g[i] + direction[i] * step[i] * (min(kk, nsub[i] - 1.0) + 0.5)
                    vm = v[i]
                    hm = heat[i] if use_heat else 0.0
                    if use_lim:
                        vm = _limited(gm, vm, icc[i], i0[i], g0[i], v0c[i])
                        if heating:
                            hm = abs(vm) * i0[i] * abs(math.sinh(vm / v0c[i])) * rth
                    gam = gam0[i] - bet[i] * _gap_power(gm * inv_g1, alpha)
                    inv_t = 1.0 / (t0 + hm * math.exp(-gm / g0[i])) if hot else 1.0 / t0
                    spd = abs(vel0[i] * math.exp(-aea[i] * inv_t) * math.sinh(gam * (c_sw * vm) * inv_t))
                    if use_lim and not gam * abs(vm) >= fmin_tox:
                        spd = 0.0
                    dt = step[i] / max(spd, 1e-300)
                else:
                    dt = math.inf
                cum = clock[i] + (s + dt)
                if cum >= tau[i]:  # the pulse ends in this substep (or the end point was reached before)
                    if kk >= nsub[i]:
                        out[i] = g[i] + direction[i] * step[i] * nsub[i]
                    else:
                        frac = min(max((tau[i] - t_prev) / dt, 0.0), 1.0)
                        out[i] = g[i] + direction[i] * step[i] * (kk + frac)
                    done = True
                    break
                s += dt
                t_prev = cum
            if done:
                marching[i] = False
                ended += 1
            else:
                clock[i] = clock[i] + s
                k_done[i] = k_done[i] + kb
        m -= ended
        block *= 4
    return out


def _njit(f: Any, **kw: Any) -> Any:
    """numba's ``njit`` with its on-disk cache, or without it where no cache folder is writable."""
    try:
        return numba.njit(cache=True, **kw)(f)
    except RuntimeError:  # "cannot cache function ...: no locator available" (read-only install, no home)
        return numba.njit(cache=False, **kw)(f)


if numba is not None:
    _gap_power = _njit(_gap_power, inline="always")
    _limited = _njit(_limited, inline="always")
    advance_cells = _njit(_advance, nogil=True)
else:  # pragma: no cover - where numba is absent, AVAILABLE is False and nothing calls it
    advance_cells = _advance

_warm = False
_PER_CELL_KEY = "_jit_per_cell"  # CellParams.take leaves it behind (it belongs to one set of cells)


def per_cell(cp: CellParams, n: int) -> tuple[Any, ...]:
    """(I0, g0, V0, v0, A_ea) of the ``n`` cells of ``cp`` as contiguous float64 arrays (shared constants
    broadcast), kept on ``cp`` for the next chunk of the same hold."""
    hit: tuple[Any, ...] | None = cp.__dict__.get(_PER_CELL_KEY)
    if hit is None or hit[0].shape[0] != n:
        hit = tuple(_flat(getattr(cp, k), n) for k in ("I0", "g0", "V0", "v0", "A_ea"))
        cp.__dict__[_PER_CELL_KEY] = hit
    return hit


def _flat(a: Any, n: int) -> Any:
    """``a`` as a writable C-contiguous float64 vector of ``n``: one compiled signature for every caller (numba
    compiles a read-only or strided array again, so a broadcast view would cost a compilation at the first pulse)."""
    arr = np.asarray(a, dtype=np.float64)
    if arr.shape == (n,) and arr.flags.c_contiguous and arr.flags.writeable:
        return arr
    return np.array(np.broadcast_to(arr, (n,)), dtype=np.float64, order="C")


def advance_numpy(cp: CellParams, x: Any, v: Any, tau: Any, dg_max: float, icc: Any, b: Bias) -> Any:
    """:func:`advance_cells` on NumPy cells ``x`` with the constants ``cp`` and the bias ``b`` of their hold."""
    n = x.shape[0]
    zeros = np.zeros(n) if b.heat is None or icc is None else None
    i0, g0, v0c, vel0, aea = per_cell(cp, n)
    return advance_cells(_flat(x, n), _flat(v, n), _flat(tau, n), float(dg_max), _flat(b.gam0, n), _flat(b.bet, n),
                         _flat(b.g_end, n), _flat(b.direction, n), zeros if b.heat is None else _flat(b.heat, n),
                         zeros if icc is None else _flat(icc, n), i0, g0, v0c, vel0, aea,
                         float(cp.c_sw), float(cp.T0), float(cp.Rth), float(cp.g1), float(cp.alpha),
                         float(cp.Fmin_tox), float(cp.gmin), float(cp.gmax), b.heat is not None, icc is not None,
                         bool(cp.heating))


def warm_up() -> bool:
    """Compile :func:`advance_cells` now (or load it from numba's on-disk cache: ~0.2 s; compiling: a few s, once per
    installation), so that neither a timed run nor an instrument's first reply waits for it; returns whether the
    compiled integrator is in use. Once per process."""
    global _warm
    if not AVAILABLE:
        return False
    if _warm:
        return True
    _warm = True
    from sim_instruments.physics._backend import NumpyBackend
    from sim_instruments.physics._cells import CellParams
    from sim_instruments.physics._integrate import bias
    from sim_instruments.physics.params import StanfordParams

    # one SET pulse through the very path a hold takes (the argument types decide the compiled signature)
    cp, xp = CellParams.from_params(StanfordParams()), NumpyBackend()
    x, v, tau = np.array([1e-9]), np.array([1.5]), np.array([1e-9])
    for icc in (None, np.array([1e-4])):
        advance_numpy(cp, x, v, tau, 1e-11, icc, bias(cp, xp, v, icc))
    return True
