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
