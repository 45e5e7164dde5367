"""The fused loops of labctl.train.hrat_loops against their torch reference (same values, both dtypes)."""

from __future__ import annotations

import pytest
import torch

from labctl.train import hrat_loops

pytestmark = pytest.mark.skipif(hrat_loops.numba is None, reason="numba is not installed: only the torch path runs")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_weight_loops_match_torch(dtype: torch.dtype) -> None:
    torch.manual_seed(3)
    w = torch.randn(40, 33, dtype=dtype)
    inv = torch.rand(40, dtype=dtype) + 0.5
    inv[3] = -inv[3]  # a negative BN factor flips a row
    d = torch.tensor(0.02, dtype=dtype)
    w[0, :8] = torch.tensor([0.5, 1.5, 2.5, -0.5, -1.5, 126.5, 127.5, -300.0], dtype=dtype) * d / inv[0]  # ties, range
    qmax = 127.0
    wq, top = hrat_loops.weight_forward(w, inv, d, qmax)
    c, top_ref, e, m = hrat_loops._weight_torch(w, inv / d, qmax)
    assert torch.equal(wq, c * (d / inv)[:, None])
    assert float(top) == float(top_ref) == qmax
    assert 0 < float(m.sum()) < m.numel()  # some weights saturate
    g = torch.randn(40, 33, dtype=dtype)
    gw, ge = hrat_loops.weight_backward(g, w, inv, d, qmax)
    assert torch.equal(gw, g * m)
    tol = 1e-4 if dtype == torch.float32 else 1e-12
    assert torch.allclose(ge, (g * e).sum(1), rtol=tol, atol=tol)


def test_torch_fallback_gives_what_the_loops_give(monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(5)
    w = torch.randn(12, 9, dtype=torch.float64)
    inv = torch.rand(12, dtype=torch.float64) + 0.5
    d = torch.tensor(0.01, dtype=torch.float64)
    g = torch.randn(12, 9, dtype=torch.float64)
    fast = (*hrat_loops.weight_forward(w, inv, d, 31.0), *hrat_loops.weight_backward(g, w, inv, d, 31.0))
    monkeypatch.setattr(hrat_loops, "_usable", lambda *ts: False)  # what runs without numba or on a GPU
    slow = (*hrat_loops.weight_forward(w, inv, d, 31.0), *hrat_loops.weight_backward(g, w, inv, d, 31.0))
    for a, b in zip(fast, slow, strict=True):
        assert torch.allclose(a, b, rtol=1e-12, atol=1e-12)
    assert float(slow[1]) == 31.0  # some weights saturate at qmax


@pytest.mark.parametrize("relu", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_output_stage_loops_match_torch(dtype: torch.dtype, relu: bool) -> None:
    torch.manual_seed(4)
    ybn = torch.randn(16, 24, dtype=dtype) * 2
    bf = torch.randn(24, dtype=dtype)
    bq = bf + 0.01
    rs = torch.tensor(0.7, dtype=dtype)
    c = 1.5
    o, ybar, p, m_y, m_b = hrat_loops.out_forward(ybn, bf, bq, rs, c, relu)
    ub = torch.mul(bq, rs).clamp_(-c, c)
    o_r, ybar_r, p_r, m_y_r = hrat_loops._out_forward_torch(ybn, bf, ub, rs, c, relu)
    assert torch.equal(o, o_r)
    assert torch.equal(ybar, ybar_r)
    assert torch.equal(p.to(dtype), p_r)
    assert torch.equal(m_y.to(dtype), m_y_r)
    assert torch.equal(m_b, (ub.abs() < c).to(dtype))
    assert 0 < float(p_r.sum()) < p_r.numel()  # clamped and linear outputs both present
    g = torch.randn(16, 24, dtype=dtype)
    got = hrat_loops.out_backward(g, p, m_y, ybar, rs)
    ref = hrat_loops.out_backward(g, p_r, m_y_r, ybar_r, rs)  # float masks: the torch path
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    for a, b in zip(got, ref, strict=True):
        assert torch.allclose(a, b, rtol=tol, atol=tol)
