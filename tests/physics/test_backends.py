"""The torch backend runs the same code path and matches NumPy to tight tolerance on CPU."""

from __future__ import annotations

import numpy as np
import pytest

from sim_instruments import Crossbar, NonIdealities, RRAMArray
from sim_instruments.presets import IITM_2024, STANFORD_V1

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("params", [STANFORD_V1, IITM_2024, STANFORD_V1.with_(strict_v1=True)])
def test_torch_matches_numpy(params):
    rng = np.random.default_rng(5)
    g0 = rng.uniform(params.gap_min, params.gap_max, (16, 16))
    v = rng.uniform(-2.0, 2.0, (16, 16))
    out = {}
    for be in ("numpy", "torch"):
        a = RRAMArray((16, 16), params, backend=be, seed=3, nonideal=NonIdealities(d2d=0.02))
        a.gap = g0
        a.apply(v, 50e-9)
        a.apply(-v, 20e-9)
        out[be] = (a.xp.to_numpy(a.gap), a.xp.to_numpy(a.current(0.2)))
    assert isinstance(a.gap, torch.Tensor)
    np.testing.assert_allclose(out["torch"][0], out["numpy"][0], rtol=1e-9, atol=1e-21)
    np.testing.assert_allclose(out["torch"][1], out["numpy"][1], rtol=1e-9, atol=1e-18)


def test_torch_crossbar_matches_numpy():
    res = {}
    for be in ("numpy", "torch"):
        a = RRAMArray((5, 4), STANFORD_V1, backend=be)
        a.gap = np.linspace(2e-10, 1.7e-9, 20).reshape(5, 4)
        xb = Crossbar(a)
        xb.pulse([1.6, 0.8, 0.8, 0.8, 0.8], [0.0, 0.8, 0.8, 0.8], 50e-9)
        res[be] = xb.read([0.2, None, 0.0, None, 0.0], [0.0, None, 0.0, 0.0])
    for k in range(2):
        np.testing.assert_allclose(res["torch"][k], res["numpy"][k], rtol=1e-9, atol=1e-18)
