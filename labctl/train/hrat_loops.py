"""The HRAT layer's elementwise work as fused loops (numba), with the same math in torch ops as the fallback.

Weight kernel (``out x in``) and output stage (``batch x out``), forward and backward: each is one pass where the
torch composition makes four to twelve.


Forward, row ``i`` with ``k_i = inv_i / d`` (``inv`` the BN factor, ``d`` the learned step)::

    t = w k_i;  c = round_half_even(t);  m = |c| <= qmax;  c <- clamp(c, -qmax, qmax);  e = c - m t
    wq = c d / inv_i                                  (the quantized weight, back on the unfused scale)

and ``max |c|`` (the noise scale). Backward, with ``G`` the gradient of ``wq``, ``e`` and ``m`` recomputed::

    gw = G m;   ge_i = sum_j G e

Output stage (:func:`labctl.train.layers.out_stage`), with ``rs = 1/s``, ``c = VDD/2`` and ``bf`` the fused bias
(``bq`` after the DAC noise)::

    ybar = y_BN - bf;  uo = clamp(ybar rs, +-c);  ub = clamp(bq rs, +-c);  o = clamp(uo + ub, +-c)  (then ReLU)
    p = do/d(uo + ub) in {0, 1};  m_y = |uo| < c;  m_b = |ub| < c

and backward ``gp = G p rs``, ``g_ybar = gp m_y``, ``g_bq = m_b sum_b gp``, plus the sums the scale's gradient needs.

The torch functions (``*_torch``) are the reference, used on GPUs and where numba is missing; the tests compare both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np
import torch
from torch import Tensor

try:  # optional: the loops below fall back to torch ops without it
    import numba
except ImportError:  # pragma: no cover - exercised where numba is not installed
    numba = None  # type: ignore[assignment]


F = TypeVar("F", bound=Callable[..., Any])


def _njit(fastmath: set[str]) -> Callable[[F], F]:
    """numba's ``njit`` (cached, GIL released) with these fast-math flags; the plain function without numba."""
    def wrap(f: F) -> F:
        if numba is None:
            return f
        return cast(F, numba.njit(cache=True, nogil=True, boundscheck=False, fastmath=fastmath)(f))
    return wrap


@_njit({"nnan", "ninf"})
def _weight_fwd(w: Any, k: Any, back: Any, qmax: Any, lim: Any, wq: Any) -> Any:
    top: Any = 0  # the running max on integers (|c| is one): it vectorizes where a float max does not
    rows, cols = w.shape
    for i in range(rows):
        ki, bi = k[i], back[i]
        for j in range(cols):
            c = np.rint(min(max(w[i, j] * ki, -lim), lim))
            c = min(max(c, -qmax), qmax)
            wq[i, j] = c * bi
            a = np.int32(abs(c))
            top = top if top >= a else a
    return top


@_njit({"reassoc", "nnan", "ninf", "nsz"})
def _weight_bwd(g: Any, w: Any, k: Any, qmax: Any, lim: Any, gw: Any, ge: Any) -> None:
    rows, cols = g.shape
    zero = qmax - qmax
    for i in range(rows):
        ki = k[i]
        s = zero
        for j in range(cols):
            t = w[i, j] * ki
            c = np.rint(min(max(t, -lim), lim))
            inside = abs(c) <= qmax
            gij = g[i, j]
            s += gij * (c - t if inside else min(max(c, -qmax), qmax))
            gw[i, j] = gij if inside else zero
        ge[i] = s


def _usable(*ts: Tensor) -> bool:
    return numba is not None and all(t.device.type == "cpu" and t.is_contiguous() for t in ts)


def weight_forward(w: Tensor, inv: Tensor, d: Tensor, qmax: float) -> tuple[Tensor, Tensor]:
    """``(wq, max|c|)`` for weight ``w`` (detached, out x in), BN factor ``inv`` (out) and step ``d`` (0-dim).

    ``wq`` is the quantized weight without noise (``c d / inv``), ``max|c|`` a 0-dim tensor."""
    k = inv / d
    back = d / inv
    if not _usable(w, k, back):
        c = torch.round(w * k[:, None]).clamp_(-qmax, qmax)  # the forward needs neither e nor m
        top = c.abs().amax()
        return c.mul_(back[:, None]), top
    wq = torch.empty_like(w)
    f = w.numpy().dtype.type
    top_c = _weight_fwd(w.numpy(), k.numpy(), back.numpy(), f(qmax), f(qmax + 1.0), wq.numpy())
    return wq, torch.tensor(float(top_c), dtype=w.dtype)


def weight_backward(g: Tensor, w: Tensor, inv: Tensor, d: Tensor, qmax: float) -> tuple[Tensor, Tensor]:
    """``(gw, ge)``: the weight gradient ``g m`` and the per-row sum of ``g e``, from ``wq``'s gradient ``g``.

    ``e`` and ``m`` are recomputed from ``w`` (cheaper than storing them: one read instead of two writes)."""
    k = inv / d
    if not _usable(g, w, k):
        _, _, e, m = _weight_torch(w, k, qmax)
        return torch.mul(g, m), torch.mul(g, e).sum(1)
    gw = torch.empty_like(g)
    ge = torch.empty(g.shape[0], dtype=g.dtype)
    f = g.numpy().dtype.type
    _weight_bwd(g.numpy(), w.numpy(), k.numpy(), f(qmax), f(qmax + 1.0), gw.numpy(), ge.numpy())
    return gw, ge


def _weight_torch(w: Tensor, k: Tensor, qmax: float) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``(c, max|c|, e, m)`` without the unfolding: the reference of both loops."""
    t = w * k[:, None]
    c = torch.round(t)
    m = torch.abs(c)
    m.neg_().add_(qmax + 1.0).clamp_(0.0, 1.0)
    c.clamp_(-qmax, qmax)
    e = torch.addcmul(c, m, t, value=-1.0)
    return c, torch.abs(c).amax(), e, m


@_njit({"nnan", "ninf"})
def _out_fwd(ybn: Any, bf: Any, ub: Any, rs: Any, c: Any, relu: bool, o: Any, ybar: Any, p: Any, m_y: Any) -> None:
    rows, cols = ybn.shape
    zero = c - c
    for i in range(rows):
        for j in range(cols):
            yb = ybn[i, j] - bf[j]
            ybar[i, j] = yb
            uo = min(max(yb * rs, -c), c)
            m_y[i, j] = abs(uo) < c
            v = min(max(uo + ub[j], -c), c)
            if relu:
                v = max(v, zero)
                p[i, j] = (v > zero) & (v < c)
            else:
                p[i, j] = abs(v) < c
            o[i, j] = v


@_njit({"reassoc", "nnan", "ninf", "nsz"})
def _out_bwd(g: Any, p: Any, m_y: Any, ybar: Any, rs: Any, gyb: Any, col_gp: Any, col_gyb: Any) -> Any:
    rows, cols = g.shape
    dot = rs - rs
    for j in range(cols):
        col_gp[j] = dot
        col_gyb[j] = dot
    for i in range(rows):
        for j in range(cols):
            gp = g[i, j] * p[i, j] * rs
            col_gp[j] += gp
            v = gp * m_y[i, j]
            col_gyb[j] += v
            gyb[i, j] = v
            dot += v * ybar[i, j]
    return dot


def out_forward(ybn: Tensor, bf: Tensor, bq: Tensor, rs: Tensor, c: float,
                relu: bool) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """``(o, ybar, p, m_y, m_b)`` of the output stage (module docstring); ``rs = 1/s`` a 0-dim tensor."""
    ub = torch.mul(bq, rs).clamp_(-c, c)
    m_b = (ub.abs() < c).to(ub.dtype)
    if not _usable(ybn, bf, ub):
        return (*_out_forward_torch(ybn, bf, ub, rs, c, relu), m_b)
    o, ybar = torch.empty_like(ybn), torch.empty_like(ybn)
    p, m_y = torch.empty(ybn.shape, dtype=torch.uint8), torch.empty(ybn.shape, dtype=torch.uint8)
    yn = ybn.numpy()
    f = yn.dtype.type
    _out_fwd(yn, bf.numpy(), ub.numpy(), f(rs.item()), f(c), relu, o.numpy(), ybar.numpy(), p.numpy(),
             m_y.numpy())
    return o, ybar, p, m_y, m_b


def out_backward(g: Tensor, p: Tensor, m_y: Tensor, ybar: Tensor, rs: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``(g_ybar, sum_b gp, sum_b g_ybar, sum g_ybar ybar)`` from the output gradient ``g`` (module docstring)."""
    if p.dtype != torch.uint8 or not _usable(g, ybar):
        gp = torch.mul(g, p).mul_(rs)
        gyb = gp * m_y
        return gyb, gp.sum(0), gyb.sum(0), torch.dot(gyb.reshape(-1), ybar.reshape(-1))
    gn = g.numpy()
    f = gn.dtype.type
    gyb = torch.empty_like(g)
    col_gp, col_gyb = torch.empty(g.shape[1], dtype=g.dtype), torch.empty(g.shape[1], dtype=g.dtype)
    dot = _out_bwd(gn, p.numpy(), m_y.numpy(), ybar.numpy(), f(rs.item()), gyb.numpy(), col_gp.numpy(),
                   col_gyb.numpy())
    return gyb, col_gp, col_gyb, torch.tensor(float(dot), dtype=g.dtype)


def _out_forward_torch(ybn: Tensor, bf: Tensor, ub: Tensor, rs: Tensor, c: float,
                       relu: bool) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    ybar = ybn - bf
    uo = torch.mul(ybar, rs).clamp_(-c, c)
    m_y = (uo.abs() < c).to(uo.dtype)
    o = uo.add_(ub).clamp_(-c, c)
    if relu:
        o = o.relu_()
        p = ((o > 0) & (o < c)).to(o.dtype)
    else:
        p = (o.abs() < c).to(o.dtype)
    return o, ybar, p, m_y
