"""Hardware-restriction-aware training (seed 003, HRAT) of an MLP, and its deployment.

One layer in training (seed 003 Fig. 2b, eqs. 10-13; without BN Fig. 2a, eq. 6)::

    x  <- clamp(x, -V_TH, V_TH)                                  input clamp (non-destructive threshold)
    Wf =  gamma/sqrt(var_MA + eps) * W                            fused weight (BN layers)
    Wq =  LSQ(Wf; step, bits) + N(0, (noise * 2 max|Wq|)^2)       learned-step quantization (STE) + weight noise,
                                                                  one draw per forward pass shared by the batch
    y  =  Wq x * sqrt(var_MA + eps)/gamma + b                     back to the unfused scale; plain BN -> y_BN
    bf =  beta + gamma/sqrt(var_MA + eps) (b - mu_MA)             fused bias
    out = relu(clamp(clamp(y_BN - bf, +-c) + clamp(Q_dac(bf), +-c), +-c)) / s,   c = s VDD/2

``noise_mode="weight"`` (default) is the seed's model: one ``out x in`` draw per step, shared by the batch; on a
CPU with ``2 B <= min(in, out)`` it is sampled exactly at batch rank (:mod:`labctl.train.weight_noise`) instead
of drawing the matrix. ``"output"`` is a cheaper variant that is not the seed's: ``N(0, sigma^2 ||x||^2)`` per
sample and output (:func:`labctl.train.layers.output_noise`), right per sample but independent across the batch
where the shared draw correlates samples, and without the noise in the input gradient. A BN layer's training
step runs as one autograd node (:mod:`labctl.train.hrat_kernel`, same values). ``s`` is the learned
per-layer scale; the DAC is modelled with uniform noise of one step while training and
rounding at deployment. Deployment (eqs. 14-15) gives ``W_deploy = s_c Q(Wf)/s`` (a differential conductance map
with ``s_c = (g_on - g_off)/max|Q(Wf)/s|``) and ``b_deploy = Q_dac(bf)/s``; hardware inference is eq. 9,
``relu(clamp(clamp(W_deploy V / s_c) + b_deploy))`` with clamps at ``VDD/2``, computed by
:mod:`labctl.train.crossbar`. The last layer has no ReLU.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from labctl.core.errors import ConfigError
from labctl.train.base import CrossbarModel, accuracy
from labctl.train.crossbar import network_forward
from labctl.train.hrat_kernel import StepConfig, hrat_train_step
from labctl.train.layers import (
    hw_weight,
    lsq_quantize,
    out_stage,
    output_noise,
    quantize_to_step,
    uniform_quant_noise,
)
from labctl.train.mapping import HRAT_WINDOW, ConductanceWindow, differential_to_conductance
from labctl.train.targets import TargetMap
from labctl.train.weight_noise import shared_weight_noise, use_low_rank

NOISE_MODES = ("weight", "output")


class HRATLinear(nn.Module):
    """One HRAT layer (see module docstring). ``hw=False`` gives the plain float layer (Linear+BN+ReLU)."""

    def __init__(self, n_in: int, n_out: int, *, bits: int, noise: float, v_th: float, vdd: float,
                 dac_bits: int | None, bn: bool, last: bool, hw: bool, noise_mode: str = "weight") -> None:
        super().__init__()
        if noise_mode not in NOISE_MODES:
            raise ConfigError.invalid("noise_mode", noise_mode, ", ".join(NOISE_MODES))
        self.weight = nn.Parameter(torch.empty(n_out, n_in).uniform_(-1, 1) / n_in**0.5)
        self.bias = nn.Parameter(torch.zeros(n_out))
        self.bn = nn.BatchNorm1d(n_out, affine=True) if bn else None
        self.step = nn.Parameter(torch.tensor(2.0 / n_in**0.5 / (2 ** (bits - 1) - 1)))
        self.s = nn.Parameter(torch.tensor(vdd / (2 * v_th)))  # starts with the swing VDD/2 mapped onto V_TH
        self.bits, self.noise, self.v_th, self.vdd, self.dac_bits = bits, noise, v_th, vdd, dac_bits
        self.last, self.hw, self.noise_mode = last, hw, noise_mode
        self.one_node = True  # BN layers train through labctl.train.hrat_kernel; False: the autograd composition

    def fused(self) -> tuple[Tensor, Tensor, Tensor]:
        """(fused weight, fused bias, BN factor gamma/sqrt(var+eps)) from the moving-average statistics."""
        if self.bn is None:
            return self.weight, self.bias, torch.ones_like(self.bias)
        inv, bf = self._fused_bias()
        return self.weight * inv[:, None], bf, inv

    def _bn_factor(self) -> Tensor:
        """``gamma / sqrt(var_MA + eps)`` from the BN layer's present moving averages."""
        bn = self.bn
        assert bn is not None
        assert bn.running_var is not None
        return bn.weight / torch.sqrt(bn.running_var + bn.eps)

    def _fused_bias(self) -> tuple[Tensor, Tensor]:
        """(BN factor, fused bias) without touching the weight matrix."""
        bn = self.bn
        assert bn is not None
        assert bn.running_mean is not None
        inv = self._bn_factor()
        return inv, bn.bias + inv * (self.bias - bn.running_mean)

    def scale(self) -> Tensor:
        return self.s.abs() + 1e-3

    def forward(self, x: Tensor) -> Tensor:
        if not self.hw:
            y = F.linear(x, self.weight, self.bias)
            y = self.bn(y) if self.bn is not None else y
            return y if self.last else F.relu(y)
        bn = self.bn
        if self.one_node and self.training and bn is not None:
            return self._fused_step(x, bn)
        x = torch.clamp(x, -self.v_th, self.v_th)
        inv = self._bn_factor() if bn is not None else None  # moving averages before this batch
        noise = self.noise if self.training else 0.0
        shared = self.noise_mode == "weight"
        low_rank = noise > 0 and shared and use_low_rank(x, self.weight.shape[0])
        wq, sigma = hw_weight(self.weight, inv, self.step, self.bits, noise, draw=shared and not low_rank)
        y = F.linear(x, wq, self.bias if bn is not None else None)  # BN layers: yf / inv + b, yf = x Wq^T
        if low_rank:  # the same per-step draw, sampled at batch rank (labctl.train.weight_noise)
            yn = shared_weight_noise(x, sigma, self.weight.shape[0])
            y = y + (yn if inv is None else yn / inv)
        elif noise > 0 and self.noise_mode == "output":
            y = output_noise(y, x, sigma, inv)
        if bn is not None:
            y_bn = bn(y)
            _, bf = self._fused_bias()  # moving averages as updated by this batch
            ybar = y_bn - bf
        else:
            ybar, bf = y, self.bias
        s = self.scale()
        if self.dac_bits is not None:
            step = s * self.vdd / 2**self.dac_bits
            bf = uniform_quant_noise(bf, step) if self.training else quantize_to_step(bf, step)
        return out_stage(ybar, bf, s, self.vdd, not self.last)

    def _fused_step(self, x: Tensor, bn: nn.BatchNorm1d) -> Tensor:
        """The training forward of a BN layer as one autograd node (:mod:`labctl.train.hrat_kernel`)."""
        assert bn.running_mean is not None
        assert bn.running_var is not None
        assert bn.num_batches_tracked is not None
        bn.num_batches_tracked.add_(1)
        momentum = bn.momentum if bn.momentum is not None else 1.0 / float(bn.num_batches_tracked)
        cfg = StepConfig(self.v_th, self.bits, self.noise, self.vdd, self.dac_bits, not self.last, bn.eps,
                         momentum, self.noise_mode)
        return hrat_train_step(x, self.weight, self.bias, self.step, self.s, bn.weight, bn.bias, bn.running_mean,
                               bn.running_var, cfg)

    def deploy(self) -> dict[str, Any]:
        """Fused, quantized, scaled weights ``w = Q(Wf)/s`` (out, in), bias ``Q_dac(bf)/s`` and ``s``."""
        with torch.no_grad():
            wf, bf, _ = self.fused()
            s = self.scale()
            w = lsq_quantize(wf, self.step, self.bits) / s
            b = bf / s
            if self.dac_bits is not None:
                b = quantize_to_step(b, self.vdd / 2**self.dac_bits)
            return {"w": w.double().numpy(), "b": b.double().numpy(), "s": float(s)}


class HRATMLP(CrossbarModel):
    """Seed 003's FC-4 (hidden 512-128-32) with BN; ``hw=False`` is the float reference."""

    kind = "hrat-mlp"

    def __init__(self, sizes: tuple[int, ...] | list[int] = (64, 512, 128, 32, 10), bits: int = 8,
                 noise: float = 0.01, v_th: float = 0.2, vdd: float = 3.0, dac_bits: int | None = 10,
                 bn: bool = True, hw: bool = True, g_off: float = HRAT_WINDOW.g_off,
                 g_on: float = HRAT_WINDOW.g_on, noise_mode: str = "weight") -> None:
        super().__init__()
        self._set_layout(sizes, g_off, g_on, v_th)
        self.cfg = {"sizes": self.sizes, "bits": bits, "noise": noise, "v_th": v_th, "vdd": vdd,
                    "dac_bits": dac_bits, "bn": bn, "hw": hw, "g_off": g_off, "g_on": g_on,
                    "noise_mode": noise_mode}
        n = len(self.sizes) - 1
        self.layers = nn.ModuleList(
            HRATLinear(a, b, bits=bits, noise=noise, v_th=v_th, vdd=vdd, dac_bits=dac_bits,
                       bn=bn and k < n - 1, last=k == n - 1, hw=hw, noise_mode=noise_mode)
            for k, (a, b) in enumerate(zip(self.sizes[:-1], self.sizes[1:], strict=True)))
        self.v_th = v_th

    def config(self) -> dict[str, Any]:
        return dict(self.cfg)

    def forward(self, x: Tensor) -> Tensor:
        h = x.reshape(x.shape[0], -1) * self.v_th  # pixels in [0, 1] -> [0, V_TH] volts
        for layer in self.layers:
            h = layer(h)
        return h

    def target_maps(self, window: ConductanceWindow | None = None) -> dict[str, TargetMap]:
        wd = window or self._window
        out = {}
        for k, (name, layer) in enumerate(zip(self.layer_names(), self.layers, strict=True)):
            assert isinstance(layer, HRATLinear)
            d = layer.deploy()
            g, s_c = differential_to_conductance(d["w"].T, wd)
            periphery = {"columns": "interleaved_pairs",
                         "input": {"v_per_unit": self.v_th if k == 0 else 1.0, "offset": 0.0, "clamp": self.v_th},
                         "output": {"kind": "linear", "gain": 1.0 / s_c, "bias": d["b"].tolist(),
                                    "clamp": layer.vdd / 2, "activation": "none" if layer.last else "relu"},
                         "scale_s": d["s"], "s_c": s_c}
            out[name] = TargetMap(name, g, "differential", wd, columns="interleaved_pairs", periphery=periphery)
        return out

    def forward_hw(self, x: Tensor, conductances: dict[str, npt.NDArray[np.float64]] | None = None) -> Tensor:
        maps = self.target_maps()
        chain = [((conductances or {}).get(n, m.targets), m.periphery) for n, m in maps.items()]
        return torch.as_tensor(network_forward(x.detach().double().numpy(), chain)[-1], dtype=torch.float32)

    def layer_outputs(self, x: Tensor) -> list[Tensor]:
        maps = self.target_maps()
        outs = network_forward(x.detach().double().numpy(), [(m.targets, m.periphery) for m in maps.values()])
        return [torch.as_tensor(o) for o in outs]


def train_hrat(model: HRATMLP, x: npt.NDArray[np.float32], y: npt.NDArray[np.int64], *, epochs: int = 40,
               lr: float = 2e-3, batch: int = 64, seed: int = 0, logit_scale: float = 8.0,
               progress: Any = None) -> HRATMLP:
    """Adam, cross-entropy on ``logit_scale * outputs`` (argmax-invariant), weights kept in ``[-1, 1]``."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(epochs, 1))
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for i in range(0, len(xt) - 1, batch):
            idx = perm[i:i + batch]
            if len(idx) < 2:
                continue
            loss = F.cross_entropy(model(xt[idx]) * logit_scale, yt[idx])
            opt.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
            with torch.no_grad():
                for layer in model.layers:
                    assert isinstance(layer, HRATLinear)
                    layer.weight.clamp_(-1.0, 1.0)
            total += float(loss.detach()) * len(idx)
        sched.step()
        if progress is not None:
            progress(epoch + 1, epochs, {"loss": total / len(xt)})
    model.eval()
    return model


def hrat_accuracies(model: HRATMLP, x: npt.NDArray[np.float32], y: npt.NDArray[np.int64]) -> dict[str, float]:
    """Offline (training forward, eval mode) and deployed (eq. 9 on the conductance maps) accuracy."""
    model.eval()
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    with torch.no_grad():
        return {"offline": accuracy(model(xt), yt), "deployed": accuracy(model.forward_hw(xt), yt)}
