"""Differentiable hardware pieces (torch): each function is one equation of a seed document.

* :func:`soft_binarize` -- seed 001 eq. (1): ``(G_ON - G_OFF) sigmoid(zeta w) + G_OFF``.
* :func:`hard_binarize_ste` -- the binarized conductance forward, soft-binarization gradient backward.
* :func:`inv_amp` -- seed 001 eq. (3), the inverting amplifier ``-V_RAIL tanh(I R_fb / V_RAIL)``.
* :func:`noisy_ste` -- seed 002: Gaussian noise of std ``noise_sd * 2 max|w|`` in the forward pass only; the
  gradient passes straight through to the clean weights.
* :func:`lsq_quantize` -- seed 003 eq. (1)-(2): ``clamp(round(w/D) D)`` with learned step ``D`` and the STE
  (rounding noise treated as independent), gradients to both ``w`` and ``D``.
* :func:`uniform_quant_noise` -- seed 003: training stand-in for DAC quantization (uniform noise of one step).
* :func:`round_ste` -- rounding with identity gradient.
* :func:`hw_weight` / :func:`output_noise` / :func:`out_stage` -- the HRAT layer's fused training kernels.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor


def soft_binarize(w: Tensor, zeta: float, g_off: float, g_on: float) -> Tensor:
    """Seed 001 eq. (1): latent weights -> conductances between ``g_off`` and ``g_on`` (siemens)."""
    return (g_on - g_off) * torch.sigmoid(zeta * w) + g_off


def hard_binarize_ste(w: Tensor, zeta: float, g_off: float, g_on: float) -> Tensor:
    """``g_on`` where ``w > 0`` else ``g_off`` in the forward pass; gradient of :func:`soft_binarize` backward."""
    soft = soft_binarize(w, zeta, g_off, g_on)
    hard = torch.where(w > 0, torch.full_like(w, g_on), torch.full_like(w, g_off))
    return soft + (hard - soft).detach()


def inv_amp(i: Tensor, v_rail: float, r_fb: float, inverting: bool = True) -> Tensor:
    """Seed 001 eq. (3): column current (A) -> output voltage (V) of the inverter in negative feedback."""
    y = v_rail * torch.tanh(i * r_fb / v_rail)
    return -y if inverting else y


class _NoisySTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, w: Tensor, noise_sd: float) -> Tensor:
        delta_w = 2.0 * w.detach().abs().max()
        return w + torch.randn_like(w) * (noise_sd * delta_w)

    @staticmethod
    def backward(ctx: Any, *grads: Tensor) -> tuple[Tensor, None]:
        return grads[0], None


def noisy_ste(w: Tensor, noise_sd: float) -> Tensor:
    """Seed 002 ``Noisy_Inference``: ``w + N(0, (noise_sd * 2 max|w|)^2)``; backward is the identity."""
    if noise_sd <= 0:
        return w
    out: Tensor = _NoisySTE.apply(w, noise_sd)  # type: ignore[no-untyped-call]
    return out


def round_ste(x: Tensor) -> Tensor:
    """``round(x)`` forward, identity backward."""
    return x + (torch.round(x) - x).detach()


def lsq_quantize(w: Tensor, step: Tensor, bits: int) -> Tensor:
    """Seed 003 eq. (2): ``C_bw((w/D + delta_rounding) D)``, levels ``-(2^(bw-1)-1) .. 2^(bw-1)-1`` times ``D``."""
    qmax = float(2 ** (bits - 1) - 1)
    d = step.abs() + 1e-12
    return torch.clamp(round_ste(w / d), -qmax, qmax) * d


def uniform_quant_noise(x: Tensor, step: float | Tensor) -> Tensor:
    """Add ``U(-step/2, step/2)`` noise: seed 003's training model of a finite-resolution DAC."""
    return x + (torch.rand_like(x) - 0.5) * step


def quantize_to_step(x: Tensor, step: float | Tensor) -> Tensor:
    """Deterministic rounding to a step (the deployed DAC)."""
    return torch.round(x / step) * step


class _HWWeight(torch.autograd.Function):
    """Fused seed-003 weight path: BN fold, learned-step quantization (STE), Gaussian weight noise, unfold.

    Forward: with ``t = w inv / D`` and ``c = clamp(round(t), +-qmax)``, returns ``(c D + N) / inv`` per row
    (``N ~ N(0, sigma^2)``, ``sigma = noise 2 max|c D|``, drawn only when ``draw``) and ``sigma``.
    ``F.linear`` with this weight equals ``F.linear`` with ``Wq = LSQ(w inv; D) + N`` followed by ``/ inv``
    (what the BN layer needs), without the 512x512 fold/unfold passes. Backward is the autograd of that
    composition with STE rounding and identity noise; with ``m`` the inside-clamp mask and ``e = c - m t``
    (LSQ's ``dWq/dD``): ``dw = g m``, ``dD = sum g e / inv``, ``dinv = -sum_j g (D e + N) / inv^2``.

    On CPU fresh 1 MB buffers (page faults), passes over the matrix and bool ops (~10x a float op) dominate,
    so: three buffers in the forward (``t`` becomes ``e``, ``round(t)`` the output, one for ``m``), one in the
    backward, float-only masks (``round(t)`` is integer-valued: ``m = clamp(qmax + 1 - |round(t)|, 0, 1)``).
    """

    @staticmethod
    def forward(ctx: Any, w: Tensor, inv: Tensor | None, step: Tensor, bits: int, noise: float,
                draw: bool) -> tuple[Tensor, Tensor]:
        qmax = float(2 ** (bits - 1) - 1)
        d = step.detach().abs() + 1e-12
        t = w.detach() * (inv.detach() / d)[:, None] if inv is not None else w.detach() / d
        c = torch.round(t)
        m = torch.abs(c)
        m.neg_().add_(qmax + 1.0).clamp_(0.0, 1.0)  # round(t) integer: 1 if |.| <= qmax
        c.clamp_(-qmax, qmax)
        e = torch.addcmul(c, m, t, value=-1.0, out=t)  # c - m t
        if noise > 0:
            lo, hi = torch.aminmax(c)
            sigma = torch.maximum(hi, -lo) * d * (2.0 * noise)  # noise * 2 max|Wq|, no .item() sync
        else:
            sigma = torch.zeros((), dtype=w.dtype, device=w.device)
        n = None
        if draw and noise > 0:
            n = torch.randn_like(c).mul_(sigma)
            out = c.mul_(d).add_(n)
            if inv is not None:
                out.mul_(inv.detach().reciprocal()[:, None])
        else:
            out = c.mul_((d / inv.detach())[:, None] if inv is not None else d)
        ctx.mark_non_differentiable(sigma)
        ctx.save_for_backward(inv, step, e, m, n)
        return out, sigma

    @staticmethod
    def backward(ctx: Any, *grads: Tensor) -> tuple[Tensor | None, Tensor | None, Tensor | None, None, None, None]:
        g = grads[0]
        inv, step, e, m, n = ctx.saved_tensors
        gi = gs = None
        need_i = inv is not None and ctx.needs_input_grad[1]
        buf = torch.mul(g, e)
        ge = buf.sum(1)  # per row: sum_j g e
        if ctx.needs_input_grad[2] or need_i:
            d = step.detach().abs() + 1e-12
            if inv is None:
                gs = ge.sum() * torch.sgn(step)
            else:
                if ctx.needs_input_grad[2]:
                    gs = (ge / inv).sum() * torch.sgn(step)
                if need_i:
                    num = ge * d if n is None else ge * d + torch.mul(g, n, out=buf).sum(1)
                    gi = -num / inv**2
        gw = torch.mul(g, m, out=buf) if ctx.needs_input_grad[0] else None
        return gw, gi, gs, None, None, None


def hw_weight(w: Tensor, inv: Tensor | None, step: Tensor, bits: int, noise: float,
              draw: bool = True) -> tuple[Tensor, Tensor]:
    """Seed 003 training weight, unfolded: ``(LSQ(w inv[:, None]; step, bits) + N) / inv[:, None]`` and ``sigma``.

    ``N ~ N(0, sigma^2)`` iid per element with ``sigma = noise * 2 max|LSQ(...)|`` (only when ``draw``; with
    ``draw=False`` the caller adds the equivalent output-referred noise, see :func:`output_noise`). ``inv=None``:
    no BN fold, ``LSQ(w) + N``. Values and gradients are those of the composition of :func:`lsq_quantize` and
    straight-through noise, in one autograd node with no host syncs. ``bits >= 2``.
    """
    if bits < 2:
        raise ValueError(f"bits must be >= 2, got {bits}")
    out, sigma = _HWWeight.apply(w, inv, step, bits, noise, draw)  # type: ignore[no-untyped-call]
    return out, sigma


def output_noise(y: Tensor, x: Tensor, sigma: Tensor, inv: Tensor | None = None) -> Tensor:
    """``y + sigma ||x_b||_2 z / inv``, ``z ~ N(0, 1)`` iid: weight noise referred to the output.

    For one sample ``x_b`` and a weight matrix with iid ``N(0, sigma^2)`` noise ``N``, ``(N x_b)_i =
    sum_j N_ij x_bj`` is Gaussian with mean 0 and variance ``sigma^2 ||x_b||^2``, independent across outputs
    ``i`` (rows of ``N`` are independent): exactly this distribution, at ``B x out`` draws instead of
    ``out x in``. Difference: every sample gets its own noise draw (weight mode shares one ``N`` across the
    batch, so there outputs of different samples are correlated), and the gradient to ``x`` has no ``g N``
    term (the noise is straight-through to ``x`` as it is to the weights). The ``/ inv`` (per-output BN
    factor, differentiable) matches the unfolded weight of :func:`hw_weight`.
    """
    k = torch.linalg.vector_norm(x.detach(), dim=1, keepdim=True).mul_(sigma)
    z = torch.randn_like(y).mul_(k)
    return y + (z if inv is None else z / inv)


def _inside(u: Tensor, k: float) -> Tensor:
    """1.0 where ``|u| < k`` else 0.0 for ``|u| <= k`` (float ops only)."""
    a = torch.abs(u)
    return a.neg_().add_(k).sign_()


class _OutStage(torch.autograd.Function):
    """Seed 003 output stage ``act(clamp(clamp(y, +-c) + clamp(b, +-c), +-c)) / s`` with ``c = s VDD/2``.

    Computed as ``act(clamp(clamp(y/s, +-k) + clamp(b/s, +-k), +-k))``, ``k = VDD/2`` (same value: the stage is
    homogeneous of degree 0 in ``(y, b, s)``), so clamps have constant bounds. Gradients are those of the
    composed clamps, ``relu`` and division: with ``p`` the pass mask of the outer clamp and activation and
    ``m_y``, ``m_b`` those of the inner clamps, ``dy = g p m_y / s``, ``db = sum_batch(g p) m_b / s``, and by
    Euler's theorem for the degree-0 function ``ds = -(sum dy y + sum db b) / s``.
    """

    @staticmethod
    def forward(ctx: Any, y: Tensor, b: Tensor, s: Tensor, vdd: float, relu: bool) -> Tensor:
        k = vdd / 2
        rs = s.detach().reciprocal()
        u = torch.mul(y.detach(), rs).clamp_(-k, k)
        ub = torch.mul(b.detach(), rs).clamp_(-k, k)
        m_b = _inside(ub, k)
        m_y = _inside(u, k)
        o = u.add_(ub).clamp_(-k, k)
        if relu:
            o = o.relu_()
            p = torch.rsub(o, k).mul_(o).sign_()  # o in [0, k]: 1 where 0 < o < k
        else:
            p = _inside(o, k)
        ctx.save_for_backward(y, b, rs, p, m_y, m_b)
        return o

    @staticmethod
    def backward(ctx: Any, *grads: Tensor) -> tuple[Tensor | None, Tensor | None, Tensor | None, None, None]:
        y, b, rs, p, m_y, m_b = ctx.saved_tensors
        gp = torch.mul(grads[0], p).mul_(rs)
        gb = gp.sum(0).mul_(m_b)
        gy = gp.mul_(m_y)
        gs = (torch.dot(gy.reshape(-1), y.reshape(-1)) + torch.dot(gb, b)).mul_(-rs)
        return gy, gb, gs, None, None


def out_stage(y: Tensor, b: Tensor, s: Tensor, vdd: float, relu: bool) -> Tensor:
    """``act(clamp(clamp(y, +-c) + clamp(b, +-c), +-c)) / s``, ``c = s VDD/2``: seed 003's output clamps, fused."""
    out: Tensor = _OutStage.apply(y, b, s, vdd, relu)  # type: ignore[no-untyped-call]
    return out
