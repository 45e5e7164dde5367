"""Seed 003's per-step Gaussian weight noise, shared by the batch, sampled exactly at batch rank.

HRAT injects ``N`` (``out x in``, iid ``N(0, sigma^2)``, one draw per forward pass) into the weight, so a batch
``X`` (``B x in``) sees ``Y_n = X N^T`` and the input gradient carries ``G N`` (``G`` the output gradient).
Drawing ``N`` costs ``out * in`` normals per step, more than the layer's matmuls on a CPU. With ``B < in`` the
same joint distribution is reached from ``B``-sized draws (:func:`shared_weight_noise`):

* forward: with the reduced QR ``X^T = Q R`` (``Q`` orthonormal, ``in x k``), ``Y_n = R^T Z`` where
  ``Z = Q^T N^T`` is ``k x out`` iid ``N(0, sigma^2)`` (orthonormal columns keep white noise white). Without an
  input gradient, ``L = chol(X X^T)`` and ``Y_n = L Z`` (same covariance, cheaper; QR if ``X X^T`` is singular).
* backward: split ``N = N Q Q^T + N (I - Q Q^T)``; the first part is ``Z^T Q^T`` (already drawn), the second is
  independent of it, and ``G M`` for a fresh iid ``M`` is ``R_G^T Z_2`` (``G^T = Q_G R_G``, ``Z_2`` iid). So
  ``G N = (G Z^T) Q^T + R_G^T Z_2 (I - Q Q^T)``: jointly with ``Y_n`` exactly the distribution of one shared draw.

The weight and step gradients do not involve ``N`` (straight-through noise); a BN factor applied outside
(``Y_n / inv``) gets its ``-sum_b G Y_n / inv^2`` from autograd, as with the drawn matrix.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor


def use_low_rank(x: Tensor, n_out: int) -> bool:
    """Whether the batch-rank sampler is cheaper than drawing the matrix: CPU, ``2 B <= min(in, out)``."""
    b, n_in = x.shape
    return x.device.type == "cpu" and 2 * b <= min(n_in, n_out)


NoiseState = tuple[Tensor, Tensor] | None  # (Q, Z) of the QR path, None for the Cholesky path


def sample(x: Tensor, sigma: Tensor, n_out: int, need_dx: bool) -> tuple[Tensor, NoiseState]:
    """``x N^T`` for one draw (``x`` detached) and what :func:`input_noise` needs to give ``g N`` later."""
    if not need_dx:
        lo, info = torch.linalg.cholesky_ex(x @ x.T)
        if int(info) == 0:
            z = torch.randn(x.shape[0], n_out, dtype=x.dtype, device=x.device)
            return (lo @ z).mul_(sigma), None
    q, r = torch.linalg.qr(x.T)
    z = torch.randn(r.shape[0], n_out, dtype=x.dtype, device=x.device)
    return (r.T @ z).mul_(sigma), (q, z)


def input_noise(g: Tensor, state: NoiseState, sigma: Tensor) -> Tensor:
    """``g N`` for the draw :func:`sample` made (``g``: gradient of ``x N^T``); needs its QR state."""
    if state is None:
        raise ValueError("the draw was sampled without an input gradient (need_dx=False)")
    q, z = state
    r_g = torch.linalg.qr(g.T, mode="r").R  # g = R_g^T Q_g^T
    s = r_g.T @ torch.randn(r_g.shape[0], q.shape[0], dtype=g.dtype, device=g.device)  # g M
    s = s - (s @ q) @ q.T  # g M (I - Q Q^T)
    return torch.addmm(s, g @ z.T, q.T).mul_(sigma)  # + g (Z^T Q^T)


class _SharedWeightNoise(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor, sigma: Tensor, n_out: int, need_dx: bool) -> Tensor:
        y, state = sample(x.detach(), sigma.detach(), n_out, need_dx)
        ctx.state, ctx.sigma = state, sigma.detach()
        return y

    @staticmethod
    def backward(ctx: Any, *grads: Tensor) -> tuple[Tensor | None, None, None, None]:
        if ctx.state is None or not ctx.needs_input_grad[0]:
            return None, None, None, None
        return input_noise(grads[0], ctx.state, ctx.sigma), None, None, None


def shared_weight_noise(x: Tensor, sigma: Tensor, n_out: int) -> Tensor:
    """``x N^T`` (``B x n_out``) for one draw of ``N`` iid ``N(0, sigma^2)``, with ``G N`` as ``x``'s gradient.

    Exact in distribution (see the module docstring); ``sigma`` is a constant of the draw (no gradient). The
    matrix ``N`` itself is never formed: ``O(B^2 (in + out))`` work and ``B (in + out)`` normals per step.
    """
    need_dx = x.requires_grad and torch.is_grad_enabled()
    out: Tensor = _SharedWeightNoise.apply(x, sigma, n_out, need_dx)  # type: ignore[no-untyped-call]
    return out
