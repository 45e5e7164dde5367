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
    """Fused seed-003 weight path: BN fold, learned-step quantization (STE) and Gaussian weight noise.

    Forward: ``Wq = clamp(round(w inv / D), +-qmax) D + N(0, (noise 2 max|Wq|)^2)``. Backward is exactly the
    autograd of :func:`lsq_quantize` on ``w * inv[:, None]`` with identity noise: with ``m`` the inside-clamp mask
    and ``t = w inv / D``, ``dw = g m inv``, ``dinv = sum_j g m w``, ``dD = sum g (c - m t)``.
    """

    @staticmethod
    def forward(ctx: Any, w: Tensor, inv: Tensor | None, step: Tensor, bits: int, noise: float) -> Tensor:
        qmax = float(2 ** (bits - 1) - 1)
        d = step.detach().abs() + 1e-12
        t = w.detach() * (inv.detach() / d)[:, None] if inv is not None else w.detach() / d
        r = torch.round(t)
        c = torch.clamp(r, -qmax, qmax)
        # in place (each fresh 1 MB buffer costs page faults) and float-only masks (bool ops and where() cost
        # ~10x a float op on CPU): r, c are integers, so min(|r - c|, 1) is 0 inside the clamp range, 1 outside
        mask = r.sub_(c).abs_().clamp_max_(1.0).neg_().add_(1.0)
        err = t.mul_(mask).neg_().add_(c)  # dWq/dD per element: c - m t
        if noise > 0:
            lo, hi = torch.aminmax(c)
            sigma = torch.maximum(hi, -lo) * d * (2.0 * noise)  # noise * 2 max|Wq|, no .item() sync
            out = torch.randn_like(c).mul_(sigma).add_(c.mul_(d))
        else:
            out = c.mul_(d)
        ctx.save_for_backward(w, inv, step, mask, err)
        return out

    @staticmethod
    def backward(ctx: Any, *grads: Tensor) -> tuple[Tensor | None, Tensor | None, Tensor | None, None, None]:
        g = grads[0]
        w, inv, step, mask, err = ctx.saved_tensors
        gw = gi = gs = None
        if ctx.needs_input_grad[2]:
            gs = torch.dot(g.reshape(-1), err.reshape(-1)) * torch.sgn(step)
        gm = g * mask
        if inv is not None and ctx.needs_input_grad[1]:
            gi = (gm * w).sum(1)
        if ctx.needs_input_grad[0]:
            gw = gm.mul_(inv[:, None]) if inv is not None else gm
        return gw, gi, gs, None, None


def hw_weight(w: Tensor, inv: Tensor | None, step: Tensor, bits: int, noise: float) -> Tensor:
    """Seed 003 training weight ``LSQ(w inv[:, None]; step, bits) + N(0, (noise 2 max|Wq|)^2)`` in one fused op.

    Same values and gradients as ``lsq_quantize(w * inv[:, None], step, bits)`` plus straight-through noise
    (``noise=0``: no noise); one custom autograd node instead of ~12, no host syncs.
    """
    out: Tensor = _HWWeight.apply(w, inv, step, bits, noise)  # type: ignore[no-untyped-call]
    return out


def _outside(u: Tensor, c: Tensor) -> Tensor:
    """``sign(u)`` where ``|u| > c`` else 0 (float ops only)."""
    return torch.sign(u - torch.maximum(torch.minimum(u, c), -c))


class _OutStage(torch.autograd.Function):
    """Seed 003 output stage ``act(clamp(clamp(y, +-c) + clamp(b, +-c), +-c)) / s`` with ``c = s VDD/2``.

    Gradients are those of the composed ``torch.clamp`` (tensor bounds), ``relu`` and division, in one node.
    """

    @staticmethod
    def forward(ctx: Any, y: Tensor, b: Tensor, s: Tensor, vdd: float, relu: bool) -> Tensor:
        c = s.detach() * (vdd / 2)
        z = torch.maximum(torch.minimum(y.detach(), c), -c).add_(torch.maximum(torch.minimum(b.detach(), c), -c))
        o = torch.maximum(torch.minimum(z, c), -c)
        if relu:
            o = o.relu_()
        ctx.vdd, ctx.relu = vdd, relu
        ctx.save_for_backward(y, b, s, z, o)
        return o / s.detach()

    @staticmethod
    def backward(ctx: Any, *grads: Tensor) -> tuple[Tensor | None, Tensor | None, Tensor | None, None, None]:
        y, b, s, z, o = ctx.saved_tensors
        sd = s.detach()
        c = sd * (ctx.vdd / 2)
        go = grads[0] / sd
        gs = -(grads[0] * o).sum() / sd**2
        if ctx.relu:
            go = go * torch.sign(o)  # o >= 0 after relu: 1 where o > 0
        oz = _outside(z, c)
        gc = (go * oz).sum()
        gz = go * (1.0 - oz.abs_())
        oy = _outside(y, c)
        gc = gc + (gz * oy).sum()
        gy = gz * (1.0 - oy.abs_())
        gzb = gz.sum(0)
        ob = _outside(b, c)
        gc = gc + (gzb * ob).sum()
        gb = gzb * (1.0 - ob.abs_())
        return gy, gb, gs + gc * (ctx.vdd / 2), None, None


def out_stage(y: Tensor, b: Tensor, s: Tensor, vdd: float, relu: bool) -> Tensor:
    """``act(clamp(clamp(y, +-c) + clamp(b, +-c), +-c)) / s``, ``c = s VDD/2``: seed 003's output clamps, fused."""
    out: Tensor = _OutStage.apply(y, b, s, vdd, relu)  # type: ignore[no-untyped-call]
    return out
