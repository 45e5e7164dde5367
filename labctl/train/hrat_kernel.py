"""One HRAT layer with BN, training step, as a single autograd node with a hand-written backward.

Same values and gradients as the composition in :class:`labctl.train.hrat.HRATLinear` (input clamp, the fused
weight kernel of :func:`labctl.train.layers.hw_weight`, weight noise, BN with batch statistics and moving
averages, fused bias, DAC noise, :func:`labctl.train.layers.out_stage`), and the same random draws in the same
order. Written once because a composition of ~40 small autograd nodes costs about as much CPU time in dispatch
and in the autograd engine as the layer's three matmuls; here there is one node, the BN statistics come from the
native ``batch_norm`` kernels, the weight kernel's elementwise passes over ``out x in`` are two fused loops
(:mod:`labctl.train.hrat_loops`, with the output stage), and the intermediate buffers are reused in place.

Backward, with ``G`` the output gradient (see the module docstrings cited above for each piece): output stage ->
``(g_ybar, g_bq, g_s)``; DAC ``bq = bf + u s VDD/2^bits``; ``ybar = y_bn - bf``; ``bf = beta + inv' (b - mu')``
(``'``: moving averages after this batch, constants); BN backward -> ``g_y``; ``y = x_c Wq^T + b (+ noise)``;
weight kernel backward; ``inv = gamma / sqrt(var_MA + eps)`` (before this batch).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from labctl.train import hrat_loops
from labctl.train.weight_noise import input_noise, sample, use_low_rank


@dataclass(frozen=True)
class StepConfig:
    """The layer's constants for one training step."""

    v_th: float
    bits: int
    noise: float
    vdd: float
    dac_bits: int | None
    relu: bool
    eps: float
    momentum: float
    mode: str  # "weight" (shared draw) or "output" (per-sample output-referred)


class _HRATStep(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor, w: Tensor, b: Tensor, step: Tensor, s: Tensor, gamma: Tensor, beta: Tensor,
                rm: Tensor, rv: Tensor, cfg: StepConfig) -> Tensor:
        xd, bd, gd, betad = x.detach(), b.detach(), gamma.detach(), beta.detach()
        xc = torch.clamp(xd, -cfg.v_th, cfg.v_th)
        sd = torch.sqrt(rv + cfg.eps)
        inv = gd / sd
        # weight: fold, learned-step quantization, noise, unfold (labctl.train.layers._HWWeight)
        qmax = float(2 ** (cfg.bits - 1) - 1)
        d = step.detach().abs() + 1e-12
        wd = w.detach()
        wq, top = hrat_loops.weight_forward(wd, inv, d, qmax)
        noisy = cfg.noise > 0
        n_out = w.shape[0]
        if noisy:
            sigma = top * d * (2.0 * cfg.noise)
        low_rank = noisy and cfg.mode == "weight" and use_low_rank(xc, n_out)
        n = None
        if noisy and cfg.mode == "weight" and not low_rank:
            n = torch.randn_like(wq).mul_(sigma)
            wq.addcmul_(n, inv.reciprocal()[:, None])
        y = torch.addmm(bd, xc, wq.T)
        extra, state = None, None  # output-side noise (already divided by inv); QR state of the shared draw
        if low_rank:
            yn, state = sample(xc, sigma, n_out, ctx.needs_input_grad[0])
            extra = yn.div_(inv)
        elif noisy and cfg.mode == "output":
            k = torch.linalg.vector_norm(xc, dim=1, keepdim=True).mul_(sigma)
            extra = torch.randn_like(y).mul_(k).div_(inv)
        if extra is not None:
            y.add_(extra)
        # BN with batch statistics; updates the moving averages in place
        ybn, save_mean, save_invstd = torch.native_batch_norm(y, gd, betad, rm, rv, True, cfg.momentum, cfg.eps)
        sd_new = torch.sqrt(rv + cfg.eps)
        inv_new = gd / sd_new
        b_rm = bd - rm
        bf = betad + inv_new * b_rm
        s_ = s.detach().abs() + 1e-3
        u = None
        bq = bf
        if cfg.dac_bits is not None:
            u = torch.rand_like(bf).sub_(0.5)
            bq = bf + u * (s_ * (cfg.vdd / 2**cfg.dac_bits))
        # output stage (labctl.train.layers._OutStage)
        rs = s_.reciprocal()
        o, ybar, p, m_y, m_b = hrat_loops.out_forward(ybn, bf, bq, rs, cfg.vdd / 2, cfg.relu)
        ctx.cfg, ctx.state, ctx.low_rank = cfg, state, low_rank
        ctx.qmax = qmax
        ctx.save_for_backward(xd, xc, wq, wd, n, inv, sd, d, step, y, save_mean, save_invstd, gamma,
                              sd_new, inv_new, b_rm, u, s, rs, p, m_y, m_b, ybar, bq, extra,
                              sigma if noisy else None)
        return o

    @staticmethod
    def backward(ctx: Any, *grads: Tensor) -> tuple[Tensor | None, ...]:
        (xd, xc, wq, wd, n, inv, sd, d, step, y, save_mean, save_invstd, gamma, sd_new, inv_new, b_rm,
         u, s, rs, p, m_y, m_b, ybar, bq, extra, sigma) = ctx.saved_tensors
        cfg: StepConfig = ctx.cfg
        # output stage
        gyb, col_gp, col_gyb, dot_y = hrat_loops.out_backward(grads[0].contiguous(), p, m_y, ybar, rs)
        gbq = col_gp.mul_(m_b)
        gs_ = (dot_y + torch.dot(gbq, bq)).mul_(-rs)
        if u is not None and cfg.dac_bits is not None:
            gs_ = gs_ + torch.dot(gbq, u) * (cfg.vdd / 2**cfg.dac_bits)
        gbf = gbq - col_gyb
        # bf = beta + inv' (b - mu')
        g_beta = gbf.clone()
        g_gamma = gbf * b_rm / sd_new
        g_b = gbf * inv_new
        # BN
        gy, gg, gbeta = torch.ops.aten.native_batch_norm_backward(
            gyb, y, gamma.detach(), None, None, save_mean, save_invstd, True, cfg.eps, [True, True, True])
        g_gamma += gg
        g_beta += gbeta
        g_b += gy.sum(0)
        # y = x_c Wq^T + b + extra
        g_wq = gy.T @ xc
        gx = None
        if ctx.needs_input_grad[0]:
            gx = gy @ wq
            if ctx.low_rank:
                gx += input_noise(gy / inv, ctx.state, sigma)
            gx.mul_((xd.abs() <= cfg.v_th).to(gx.dtype))
        # weight kernel
        gw, ge = hrat_loops.weight_backward(g_wq, wd, inv, d, ctx.qmax)
        g_step = (ge / inv).sum() * torch.sgn(step.detach())
        num = ge * d if n is None else ge * d + torch.mul(g_wq, n).sum(1)
        gi = -num / inv**2
        if extra is not None:
            gi -= (gy * extra).sum(0) / inv
        g_gamma += gi / sd
        g_s = gs_ * torch.sgn(s.detach())
        return gx, gw, g_b, g_step, g_s, g_gamma, g_beta, None, None, None


def hrat_train_step(x: Tensor, w: Tensor, b: Tensor, step: Tensor, s: Tensor, gamma: Tensor, beta: Tensor,
                    running_mean: Tensor, running_var: Tensor, cfg: StepConfig) -> Tensor:
    """The BN layer's training forward (``act(...) / s``), one autograd node; updates the moving averages."""
    out: Tensor = _HRATStep.apply(  # type: ignore[no-untyped-call]
        x, w, b, step, s, gamma, beta, running_mean, running_var, cfg)
    return out
