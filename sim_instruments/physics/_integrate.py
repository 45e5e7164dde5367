"""Δg-limited sub-stepping with a per-cell clock (reference §3), for cells under constant voltage.

At constant V the gap velocity depends on g only (T is algebraic in g and V), so every cell follows an
autonomous 1-D trajectory between its start and its end point: gap_min for SET (runaway, no interior limit) or
min(g*(V), gap_max) for RESET (the gate closes at g*, §1.8, the threshold-aware clamp of §3.3). Each cell walks
that interval in equal substeps of at most ``dg_max``; the time a substep takes is ``Δg/|dg/dt|`` at its midpoint
(second order), and each cell keeps its own clock, so a fast cell never sets the step for a slow one. Substeps
are evaluated in vectorised blocks (cells x substeps) that grow geometrically; a cell leaves as soon as its
clock passes the pulse end, where it is interpolated linearly inside the last substep.

With numba and NumPy arrays the same scheme runs compiled per cell (:mod:`._integrate_jit`); windup and torch
tensors take the vectorised loop below.

Windup (``strict_v1``): the hidden integrator state ``x`` may leave [gmin, gmax]; outside, the velocity is
that of the clamped gap (constant), as in the v1.0.0 ``idt`` + output clamp.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim_instruments.physics._backend import Array
from sim_instruments.physics._cells import CellParams, gamma0_beta, gap_power, limited_voltage, reset_limit
from sim_instruments.physics._integrate_jit import AVAILABLE as _COMPILED
from sim_instruments.physics._integrate_jit import MAX_BLOCK_ELEMS as _MAX_BLOCK_ELEMS
from sim_instruments.physics._integrate_jit import advance_numpy


def _speed(cp: CellParams, xp: Any, g: Array, v: Array, gam0: Array, bet: Array, heat: Array | None) -> Array:
    """|dg/dt| without the gate (callers stay inside the open-gate interval); broadcasts over blocks."""
    gam = gam0 - bet * gap_power(cp, xp, g)
    if heat is None:
        inv_t = 1.0 / cp.T0
        pre = cp.v0 * (math.exp(-cp.A_ea * inv_t) if isinstance(cp.A_ea, float) else xp.exp(-cp.A_ea * inv_t))
    else:
        inv_t = 1.0 / (cp.T0 + heat * xp.exp(-g / cp.g0))
        pre = cp.v0 * xp.exp(-cp.A_ea * inv_t)
    return xp.abs(pre * xp.sinh(gam * (cp.c_sw * v) * inv_t))


@dataclass(frozen=True)
class Bias:
    """What a constant voltage fixes for each cell, computed once for a hold and reused by every chunk of it:
    (γ0, β) of its polarity, the end point of its trajectory (gap_min for SET, g*(V) for RESET), its direction
    and, with self-heating and no current limit, its Joule-heating factor |V|·I0·|sinh(V/V0)|·Rth."""

    gam0: Array
    bet: Array
    g_end: Array
    direction: Array
    heat: Array | None


def bias(cp: CellParams, xp: Any, v: Array, icc: Array | None = None) -> Bias:
    """The :class:`Bias` of cells with constants ``cp`` under voltages ``v`` (``icc``: as for :func:`advance`)."""
    gam0, bet = gamma0_beta(cp, xp, v)
    heat = None
    if cp.heating and (icc is None or cp.windup):
        heat = xp.abs(v) * cp.I0 * xp.abs(xp.sinh(v / cp.V0)) * cp.Rth
    setting = v > 0
    g_end = xp.where(setting, cp.gmin, reset_limit(cp, xp, v, gam0, bet))
    return Bias(gam0, bet, g_end, xp.where(setting, -1.0, 1.0), heat)


def advance(cp: CellParams, xp: Any, x: Array, v: Array, tau: Array, dg_max: float,
            icc: Array | None = None, fixed: Bias | None = None) -> Array:
    """New state of cells with state ``x`` under constant voltages ``v`` (all nonzero) for ``tau`` seconds.

    All arguments are 1-D backend arrays over the same cells (``cp`` already restricted to them). ``icc``: each
    cell's current limit (A, its source's compliance); a cell whose current reaches it sees the folded-back
    voltage of :func:`limited_voltage` at every substep, so a SET under compliance stops where the gate closes
    at that voltage instead of running away to gap_min (not in ``strict_v1`` windup mode). ``fixed``: the
    :func:`bias` of these cells under ``v`` and ``icc`` when the caller holds it (a hold in several chunks).
    """
    n = x.shape[0]
    if n == 0:
        return x
    if cp.windup:
        icc = None
    b = bias(cp, xp, v, icc) if fixed is None else fixed
    if _COMPILED and not cp.windup and isinstance(x, np.ndarray):
        return advance_numpy(cp, x, v, tau, dg_max, icc, b)
    gam0, bet, g_end, direction, heat = b.gam0, b.bet, b.g_end, b.direction, b.heat
    g = xp.clip(x, cp.gmin, cp.gmax)
    v_now = v if icc is None else limited_voltage(cp, xp, g, v, icc)
    is_open = (gam0 - bet * gap_power(cp, xp, g)) * xp.abs(v_now) >= cp.Fmin_tox
    if not cp.windup and not xp.any(is_open):
        return x + 0.0  # every gate closed: nothing moves (the common case once a cell has reached g*)
    tau = tau + 0.0 * x
    out = x + 0.0
    if cp.windup:
        # outside the bounds the clamped gap sets a constant velocity (v1.0.0 idt windup)
        r = direction * _speed(cp, xp, g, v, gam0, bet, _take(heat, None))
        r = xp.where(is_open, r, 0.0)
        outside = (x < cp.gmin) | (x > cp.gmax)
        inward = outside & (((x > cp.gmax) & (r < 0)) | ((x < cp.gmin) & (r > 0)))
        t_in = xp.where(inward, xp.abs(x - g) / xp.maximum(xp.abs(r), 1e-300), 0.0)
        stays_out = outside & (~inward | (t_in >= tau))
        out = xp.where(stays_out, x + r * tau, out)
        tau = xp.where(inward & ~stays_out, tau - t_in, tau)
        is_open = is_open & ~stays_out
    dist = xp.where(is_open, xp.abs(g_end - g), 0.0)
    march = is_open & (dist > 0)
    nsub = xp.maximum(xp.ceil(dist / dg_max), 1.0)
    step = dist / nsub  # signed below
    idx = xp.flatnonzero(march)
    left = xp.flatnonzero(is_open & ~march)  # already at the end point with the gate open
    if cp.windup and left.shape[0]:
        out[left] = _overrun(cp.take(left), xp, g[left], v[left], g_end[left], direction[left], tau[left], gam0[left],
                             bet[left], _take(heat, left))
    if idx.shape[0] == 0:
        return out
    # per-cell clock over the marching cells
    g_s, dirn, st, ns = g[idx], direction[idx], step[idx], nsub[idx]
    vv, t_end, gm0, bt = v[idx], tau[idx], gam0[idx], bet[idx]
    ht = _take(heat, idx)
    lim = None if icc is None else icc[idx]
    clock = 0.0 * g_s
    k_done = 0.0 * g_s
    alive = idx  # positions into the cell arrays
    pos = xp.iarange(idx.shape[0])  # positions into the marching sub-arrays
    cpm = cp.take(idx)
    block = 4
    while pos.shape[0]:
        m = pos.shape[0]
        kb = max(1, min(block, _MAX_BLOCK_ELEMS // m))
        ar = xp.arange(kb)
        kk = k_done[pos][:, None] + ar[None, :]
        nsp = ns[pos][:, None]
        valid = kk < nsp
        stp = st[pos][:, None]
        gm = g_s[pos][:, None] + dirn[pos][:, None] * stp * (xp.minimum(kk, nsp - 1.0) + 0.5)
        cpc = cpm.take(pos, column=True)
        g0c, b0c, vm, hm = _col(gm0, pos), _col(bt, pos), vv[pos][:, None], _col(ht, pos)
        if lim is not None:  # the folded-back voltage at each substep's gap; the gate may close on the way
            vm = limited_voltage(cpc, xp, gm, vm, lim[pos][:, None])
            if cp.heating:
                hm = xp.abs(vm) * cpc.I0 * xp.abs(xp.sinh(vm / cpc.V0)) * cp.Rth
        spd = _speed(cpc, xp, gm, vm, g0c, b0c, hm)
        if lim is not None:
            spd = xp.where((g0c - b0c * gap_power(cp, xp, gm)) * xp.abs(vm) >= cp.Fmin_tox, spd, 0.0)
        dt = xp.where(valid, stp / xp.maximum(spd, 1e-300), float("inf"))
        cum = clock[pos][:, None] + xp.cumsum(dt, 1)
        hit = cum >= t_end[pos][:, None]
        done = hit[:, -1]
        if xp.any(done):
            p = pos[done]
            jj = (~hit[done]).sum(1)
            rows = xp.flatnonzero(done)
            cum_d, dt_d, kk_d = cum[rows], dt[rows], kk[rows]
            ix = _ix(xp, cum_d)
            t_prev = xp.where(jj > 0, cum_d[ix, xp.maximum(jj - 1, 0 * jj)], clock[p])  # clock at substep start
            dtj = dt_d[ix, jj]
            kj = kk_d[ix, jj]
            reached = kj >= ns[p]  # ran out of substeps: the end point was reached before the pulse end
            frac = (t_end[p] - t_prev) / xp.where(reached, 1.0, dtj)
            frac = xp.where(reached, 0.0, xp.minimum(xp.maximum(frac, 0.0), 1.0))
            gnew = g_s[p] + dirn[p] * st[p] * xp.where(reached, ns[p], kj + frac)
            if cp.windup and xp.any(reached):
                over = _overrun(cpm.take(p), xp, gnew, vv[p], gnew, dirn[p], t_end[p] - t_prev, gm0[p], bt[p],
                                _take(ht, p))
                gnew = xp.where(reached, over, gnew)
            out[alive[p]] = gnew
        keep = ~done
        pos = pos[keep]
        if pos.shape[0]:
            clock[pos] = cum[keep][:, -1]
            k_done[pos] = k_done[pos] + kb
        block *= 4
    return out


def _ix(xp: Any, a: Array) -> Array:
    return xp.iarange(a.shape[0])


def _take(a: Array | None, idx: Array | None) -> Array | None:
    if a is None or idx is None:
        return a
    return a[idx]


def _col(a: Array | None, pos: Array) -> Array | None:
    if a is None:
        return None
    if isinstance(a, float):
        return a
    return a[pos][:, None]


def _overrun(cp: CellParams, xp: Any, g_end: Array, v: Array, g_e: Array, dirn: Array, t_left: Array,
             gam0: Array, bet: Array, heat: Array | None) -> Array:
    """Windup: past a bound the hidden state keeps moving at the bound's velocity (interior end points stay)."""
    at_bound = (g_e <= cp.gmin) | (g_e >= cp.gmax)
    r = dirn * _speed(cp, xp, g_end, v, gam0, bet, heat)
    return xp.where(at_bound, g_end + r * xp.maximum(t_left, 0.0), g_end)
