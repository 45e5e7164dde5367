"""The batch-rank sampler of seed 003's shared weight noise against one explicit ``out x in`` draw per step."""

from __future__ import annotations

import copy

import pytest
import torch

from labctl.train.hrat import HRATLinear
from labctl.train.weight_noise import shared_weight_noise, use_low_rank

torch.set_num_threads(1)

B, N_IN, N_OUT, SIGMA, DRAWS = 3, 10, 6, 0.3, 3000


def _inputs() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(4)
    x = torch.rand(B, N_IN, dtype=torch.float64, generator=gen) * 0.4 - 0.1
    g = torch.randn(B, N_OUT, dtype=torch.float64, generator=gen)
    g[1] = -g[0] - g[2]  # columns summing to zero (as behind a BN layer): a singular g g^T
    return x, g


def _samples(x: torch.Tensor, g: torch.Tensor, need_dx: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """DRAWS samples of (x N^T, g N) from the sampler, flattened per draw."""
    sigma = torch.tensor(SIGMA, dtype=torch.float64)
    ys, ds = [], []
    for _ in range(DRAWS):
        xi = x.clone().requires_grad_(need_dx)
        y = shared_weight_noise(xi, sigma, N_OUT)
        ys.append(y.detach().reshape(-1))
        if need_dx:
            y.backward(g)  # type: ignore[no-untyped-call]
            assert xi.grad is not None
            ds.append(xi.grad.reshape(-1))
    return torch.stack(ys), (torch.stack(ds) if need_dx else None)


def _theory(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Covariance of the stacked (vec(x N^T), vec(g N)) for one N iid N(0, SIGMA^2).

    ``Cov(y_bi, y_cj) = s^2 d_ij x_b.x_c``; ``Cov(d_bk, d_cl) = s^2 d_kl g_b.g_c``; ``Cov(y_bi, d_ck) = s^2 x_bk g_ci``.
    """
    s2 = SIGMA**2
    eye_o, eye_i = torch.eye(N_OUT, dtype=x.dtype), torch.eye(N_IN, dtype=x.dtype)
    cyy = torch.einsum("bc,ij->bicj", x @ x.T, eye_o).reshape(B * N_OUT, B * N_OUT)
    cdd = torch.einsum("bc,kl->bkcl", g @ g.T, eye_i).reshape(B * N_IN, B * N_IN)
    cyd = torch.einsum("bk,ci->bick", x, g).reshape(B * N_OUT, B * N_IN)
    top = torch.cat([cyy, cyd], 1)
    return s2 * torch.cat([top, torch.cat([cyd.T, cdd], 1)], 0)


def _check_cov(samples: torch.Tensor, cov: torch.Tensor) -> None:
    n = samples.shape[0]
    mean = samples.mean(0)
    sd = cov.diagonal().sqrt()
    assert (mean.abs() / (sd / n**0.5)).max() < 5.0  # zero mean
    emp = samples.T @ samples / n
    # sd of an empirical covariance ~ sqrt((c_ii c_jj + c_ij^2) / n): z-scores per entry
    se = ((cov.diagonal()[:, None] * cov.diagonal()[None, :] + cov**2) / n).sqrt()
    z = (emp - cov) / se
    assert z.abs().max() < 5.5
    assert abs(float(emp.diagonal().sum() / cov.diagonal().sum()) - 1) < 0.08  # total variance


@pytest.mark.parametrize("need_dx", [False, True])
def test_batch_rank_sampler_has_the_joint_distribution_of_one_shared_draw(need_dx: bool) -> None:
    torch.manual_seed(0)
    x, g = _inputs()
    ys, ds = _samples(x, g, need_dx)
    cov = _theory(x, g)
    if ds is None:
        _check_cov(ys, cov[: B * N_OUT, : B * N_OUT])
    else:
        _check_cov(torch.cat([ys, ds], 1), cov)
    # the batch shares the draw: samples' outputs are correlated as x_b.x_c (per-sample noise would give 0)
    c01 = torch.corrcoef(torch.stack([ys[:, 0], ys[:, N_OUT]]))[0, 1]
    expect = float(x[0] @ x[1] / (x[0].norm() * x[1].norm()))
    assert abs(float(c01) - expect) < 0.05
    assert abs(expect) > 0.3


def test_the_covariance_used_is_that_of_explicit_draws() -> None:
    """The reference covariance checked above, against explicit ``N`` (x N^T and g N of the same matrix)."""
    torch.manual_seed(1)
    x, g = _inputs()
    n = torch.randn(4 * DRAWS, N_OUT, N_IN, dtype=torch.float64) * SIGMA
    explicit = torch.cat([(x @ n.transpose(1, 2)).reshape(len(n), -1), (g @ n).reshape(len(n), -1)], 1)
    _check_cov(explicit, _theory(x, g))


def test_rank_deficient_batches_fall_back_exactly() -> None:
    """Duplicate samples (singular x x^T) take the QR path: identical rows get identical noise."""
    torch.manual_seed(2)
    x = torch.rand(4, 16, dtype=torch.float64)
    x[3] = x[1]
    y = shared_weight_noise(x, torch.tensor(0.1, dtype=torch.float64), 12)
    assert torch.allclose(y[3], y[1], atol=1e-12)
    assert not torch.allclose(y[0], y[1])


def test_hrat_layer_uses_the_sampler_only_where_it_pays() -> None:
    layer = HRATLinear(64, 48, bits=8, noise=0.05, v_th=0.2, vdd=3.0, dac_bits=10, bn=True, last=False, hw=True)
    assert layer.noise_mode == "weight"  # the seed's model is the default
    assert use_low_rank(torch.zeros(16, 64), 48)
    assert not use_low_rank(torch.zeros(32, 64), 48)
    x = (torch.rand(16, 64) * 0.2).requires_grad_()
    layer.train()
    out = layer(x)
    out.sum().backward()
    assert x.grad is not None
    assert torch.isfinite(x.grad).all()
    grads = {n: p.grad for n, p in layer.named_parameters()}
    assert all(v is not None and torch.isfinite(v).all() for v in grads.values())
    twin = copy.deepcopy(layer)  # training mode updates the BN averages: run both from the same state
    torch.manual_seed(7)
    a = layer(x.detach())
    torch.manual_seed(7)
    b = twin(x.detach())
    assert torch.equal(a, b)  # seeded: reproducible
    c = twin(x.detach())
    assert not torch.allclose(a, c)  # a fresh draw per step
