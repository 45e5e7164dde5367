"""The fused HRAT kernels (hw_weight, output_noise, out_stage) against the plain autograd composition."""

from __future__ import annotations

import copy

import pytest
import torch
from torch.nn import functional as F

from labctl.core.errors import ConfigError
from labctl.train.hrat import HRATMLP, HRATLinear
from labctl.train.layers import hw_weight, lsq_quantize, output_noise, uniform_quant_noise

torch.set_num_threads(1)


def _reference(layer: HRATLinear, x: torch.Tensor, rm: torch.Tensor, rv: torch.Tensor,
               noise: torch.Tensor | None) -> torch.Tensor:
    """The seed-003 layer in training mode written with stock autograd ops (the pre-fusion implementation)."""
    bn = layer.bn
    assert bn is not None
    momentum = bn.momentum
    assert momentum is not None
    x = torch.clamp(x, -layer.v_th, layer.v_th)
    inv = bn.weight / torch.sqrt(rv + bn.eps)
    wq = lsq_quantize(layer.weight * inv[:, None], layer.step, layer.bits)
    if noise is not None:
        wq = wq + noise  # straight through: a constant added to the weight
    y_bn = F.batch_norm(F.linear(x, wq) / inv + layer.bias, rm, rv, bn.weight, bn.bias, True, momentum, bn.eps)
    bf = bn.bias + bn.weight / torch.sqrt(rv + bn.eps) * (layer.bias - rm)
    s = layer.s.abs() + 1e-3
    assert layer.dac_bits is not None
    bq = uniform_quant_noise(bf, s * layer.vdd / 2**layer.dac_bits)
    c = s * layer.vdd / 2
    z = torch.clamp(y_bn - bf, -c, c) + torch.clamp(bq, -c, c)
    return F.relu(torch.clamp(z, -c, c)) / s


def _layer(noise: float, mode: str = "weight") -> HRATLinear:
    torch.manual_seed(3)
    layer = HRATLinear(24, 16, bits=4, noise=noise, v_th=0.2, vdd=3.0, dac_bits=6, bn=True, last=False, hw=True,
                       noise_mode=mode).double().train()
    bn = layer.bn
    assert bn is not None
    assert bn.running_var is not None
    with torch.no_grad():
        layer.weight.uniform_(-1, 1)
        layer.step.fill_(0.05)  # |w inv / D| up to ~20 > qmax = 7: both clamp regions occur
        layer.bias.uniform_(-0.1, 0.1)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.2, 0.2)
        bn.running_var.uniform_(0.5, 2.0)
        layer.s.fill_(0.5)  # output clamp c = s VDD/2 = 0.75: clamped outputs occur
    return layer


@pytest.mark.parametrize("noise", [0.0, 0.05])
def test_fused_layer_matches_autograd_composition(noise: float) -> None:
    layer = _layer(noise)
    bn = layer.bn
    assert bn is not None
    assert bn.running_mean is not None
    assert bn.running_var is not None
    x = (torch.rand(32, 24, dtype=torch.float64) * 0.5 - 0.1).requires_grad_()
    rm, rv = bn.running_mean.clone(), bn.running_var.clone()
    g = torch.randn(32, 16, dtype=torch.float64)
    torch.manual_seed(11)
    out = layer(x)
    out.backward(g)
    fused = {n: p.grad.clone() for n, p in layer.named_parameters() if p.grad is not None}
    gx = x.grad.clone()  # type: ignore[union-attr]
    layer.zero_grad()
    x.grad = None
    torch.manual_seed(11)
    n = None
    if noise > 0:  # same draw as the fused kernel: N(0, 1) of the weight's shape times noise * 2 max|Wq|
        inv = (bn.weight / torch.sqrt(rv + bn.eps)).detach()
        wq = lsq_quantize(layer.weight.detach() * inv[:, None], layer.step.detach(), layer.bits)
        n = torch.randn_like(wq) * (noise * 2 * wq.abs().max())
    ref = _reference(layer, x, rm, rv, n)
    ref.backward(g)  # type: ignore[no-untyped-call]
    t = torch.round(layer.weight.detach() * (bn.weight / torch.sqrt(rv + bn.eps)).detach()[:, None] / 0.05)
    assert (t.abs() > 7).any()  # both sides of the weight clamp (qmax = 7)
    assert (t.abs() <= 7).any()
    assert torch.allclose(out, ref, atol=1e-12)
    assert (out == 0).any()  # relu
    assert ((out > 0) & (out < 1.5)).any()  # passes
    assert (out == 1.5).any()  # clamped at c / s
    assert torch.allclose(gx, x.grad, atol=1e-10)  # type: ignore[arg-type]
    assert set(fused) == {"weight", "bias", "step", "s", "bn.weight", "bn.bias"}
    for name, p in layer.named_parameters():
        assert p.grad is not None
        assert torch.allclose(fused[name], p.grad, rtol=1e-9, atol=1e-10), name


def test_hw_weight_unfolded_matches_lsq_and_gradients() -> None:
    torch.manual_seed(0)
    w = (torch.rand(20, 30, dtype=torch.float64) * 2 - 1).requires_grad_()
    inv = (torch.rand(20, dtype=torch.float64) + 0.5).requires_grad_()
    step = torch.tensor(-0.04, dtype=torch.float64, requires_grad=True)  # |step| is the step
    g = torch.randn(20, 30, dtype=torch.float64)
    out, sigma = hw_weight(w, inv, step, 5, 0.0)
    out.backward(g)  # type: ignore[no-untyped-call]
    grads = [w.grad, inv.grad, step.grad]
    w.grad = inv.grad = step.grad = None
    ref = lsq_quantize(w * inv[:, None], step, 5) / inv[:, None]
    ref.backward(g)  # type: ignore[no-untyped-call]
    assert float(sigma) == 0.0
    assert torch.allclose(out, ref, atol=1e-12)
    for a, b in zip(grads, [w.grad, inv.grad, step.grad], strict=True):
        assert a is not None
        assert b is not None
        assert torch.allclose(a, b, atol=1e-10)
    with pytest.raises(ValueError, match="bits"):
        hw_weight(w, inv, step, 1, 0.0)


def test_output_noise_has_the_distribution_of_weight_noise() -> None:
    """Per sample, x (W + N)^T with iid N(0, sigma^2) N is N(x W^T, sigma^2 ||x||^2) per output: both modes."""
    torch.manual_seed(5)
    w = torch.rand(8, 40, dtype=torch.float64) * 2 - 1
    inv = torch.rand(8, dtype=torch.float64) + 0.5
    step = torch.tensor(0.02, dtype=torch.float64)
    x = torch.rand(4, 40, dtype=torch.float64) * 0.2
    clean = F.linear(x, hw_weight(w, inv, step, 8, 0.0)[0])
    draws = 4000
    yw = torch.stack([F.linear(x, hw_weight(w, inv, step, 8, 0.05)[0]) for _ in range(draws)])
    wq, sigma = hw_weight(w, inv, step, 8, 0.05, draw=False)
    yo = torch.stack([output_noise(F.linear(x, wq), x, sigma, inv) for _ in range(draws)])
    assert float(sigma) > 0
    expected_sd = sigma * x.norm(dim=1, keepdim=True) / inv  # (4, 8)
    for y in (yw, yo):
        z = (y.mean(0) - clean) / (expected_sd / draws**0.5)
        assert z.abs().max() < 4.5  # means: 32 z-scores
        ratio = y.var(0) / expected_sd**2
        assert (ratio - 1).abs().max() < 0.15  # each variance (sd of the estimate ~2.2 %)
        assert abs(float(ratio.mean()) - 1) < 0.03
    # the documented difference: weight noise is shared by the batch, output noise is not
    dw, do = (yw - clean)[:, :, 0], (yo - clean)[:, :, 0]
    cos = float(x[0] @ x[1] / (x[0].norm() * x[1].norm()))
    assert abs(float(torch.corrcoef(dw.T)[0, 1]) - cos) < 0.06
    assert abs(float(torch.corrcoef(do.T)[0, 1])) < 0.06


def test_output_noise_gradients_are_straight_through() -> None:
    """``x`` gets the clean-weight gradient; ``inv`` also gets the noise's ``/ inv`` term, as in weight mode."""
    torch.manual_seed(2)
    w = (torch.rand(8, 12, dtype=torch.float64) * 2 - 1).requires_grad_()
    inv = (torch.rand(8, dtype=torch.float64) + 0.5).requires_grad_()
    step = torch.tensor(0.05, dtype=torch.float64, requires_grad=True)
    x = (torch.rand(6, 12, dtype=torch.float64) * 0.2).requires_grad_()
    g = torch.randn(6, 8, dtype=torch.float64)
    wq, sigma = hw_weight(w, inv, step, 6, 0.1, draw=False)
    clean = F.linear(x, wq)
    y = output_noise(clean, x, sigma, inv)
    noise = ((y - clean) * inv).detach()
    assert float(noise.abs().max()) > 0
    y.backward(g)  # type: ignore[no-untyped-call]
    got = [t.grad.clone() for t in (x, w, inv, step)]  # type: ignore[union-attr]
    for t in (x, w, inv, step):
        t.grad = None
    F.linear(x, hw_weight(w, inv, step, 6, 0.1, draw=False)[0]).backward(g)  # type: ignore[no-untyped-call]
    assert x.grad is not None
    assert w.grad is not None
    assert inv.grad is not None
    assert step.grad is not None
    assert torch.allclose(got[0], x.grad, atol=1e-12)
    assert torch.allclose(got[1], w.grad, atol=1e-12)
    assert torch.allclose(got[2], inv.grad - (g * noise).sum(0) / inv.detach() ** 2, atol=1e-12)
    assert torch.allclose(got[3], step.grad, atol=1e-12)


def test_noise_mode_is_validated_and_kept_in_config() -> None:
    with pytest.raises(ConfigError, match="noise_mode"):
        HRATMLP((4, 3, 2), noise_mode="bogus")
    assert HRATMLP((4, 3, 2), noise_mode="output").config()["noise_mode"] == "output"


@pytest.mark.parametrize(("mode", "batch", "x_grad"), [("weight", 8, True), ("weight", 8, False),
                                                      ("weight", 32, True), ("output", 32, True)])
def test_one_node_step_matches_the_composition(mode: str, batch: int, x_grad: bool) -> None:
    """labctl.train.hrat_kernel against the module's autograd composition: same draws, values, gradients, BN.

    batch 8 with 24 inputs and 16 outputs takes the batch-rank noise sampler, batch 32 the drawn matrix."""
    layer = _layer(0.05, mode)
    twin = copy.deepcopy(layer)
    twin.one_node = False
    x = torch.rand(batch, 24, dtype=torch.float64) * 0.5 - 0.1
    g = torch.randn(batch, 16, dtype=torch.float64)
    results = []
    for lay in (layer, twin):
        xi = x.clone().requires_grad_(x_grad)
        torch.manual_seed(21)
        out = lay(xi)
        out.backward(g)
        results.append((out.detach(), xi.grad, {n: p.grad for n, p in lay.named_parameters()},
                        {n: b.clone() for n, b in lay.named_buffers()}))
    (o1, gx1, p1, b1), (o2, gx2, p2, b2) = results
    assert torch.allclose(o1, o2, atol=1e-12)
    assert (o1 == 0).any()
    assert (o1 == 1.5).any()
    if x_grad:
        assert gx1 is not None
        assert gx2 is not None
        assert torch.allclose(gx1, gx2, atol=1e-10)
        assert float(gx1.abs().max()) > 0
    else:
        assert gx1 is None
    assert set(p1) == {"weight", "bias", "step", "s", "bn.weight", "bn.bias"}
    for name in p1:
        a, b = p1[name], p2[name]
        assert a is not None
        assert b is not None
        assert torch.allclose(a, b, rtol=1e-9, atol=1e-10), name
    for name in b1:
        assert torch.equal(b1[name], b2[name]) or torch.allclose(b1[name], b2[name], atol=1e-14), name
