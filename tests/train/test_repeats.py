"""Input repeats of the letters network: k rows per input, k cells per weight summed on the column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from labctl.core.errors import ConfigError
from labctl.train import load_model, save_model
from labctl.train.crossbar import network_forward, row_voltages
from labctl.train.letters import SoftBinaryNet


def _net(repeats: tuple[int, int] | None = None) -> SoftBinaryNet:
    return SoftBinaryNet((16, 32, 4), differential=True, bias=True, v_clamp=0.15, r_fb=1e4, v_rail=0.15,
                         repeats=repeats)


def _pair() -> tuple[SoftBinaryNet, SoftBinaryNet]:
    """A network and the same network with its weights copied into (2, 3) repeats (biases scaled by k: the bias is
    a current into a summing node whose feedback resistance is divided by k)."""
    torch.manual_seed(0)
    a = _net()
    b = _net((2, 3))
    with torch.no_grad():
        for wa, wb, ba, bb, k in zip(a.weights, b.weights, a.biases, b.biases, b.repeats, strict=True):
            wb.copy_(wa.repeat(1, 1, k))
            ba.uniform_(-1, 1)
            bb.copy_(ba * k)
    return a, b


def test_repeated_cells_with_divided_feedback_give_the_same_outputs() -> None:
    a, b = _pair()
    assert [tuple(w.shape) for w in b.weights] == [(2, 32, 32), (2, 4, 96)]
    x = torch.rand(20, 16).round()
    with torch.no_grad():
        assert torch.allclose(a.forward_hw(x), b.forward_hw(x), atol=1e-6)
        # a half-step change (one of the copies flipped) moves the outputs: the copies are cells of their own
        b.weights[1][0, 0, 0] = -b.weights[1][0, 0, 0]
        assert not torch.allclose(a.forward_hw(x), b.forward_hw(x), atol=1e-6)


def test_the_exported_periphery_runs_the_repeated_network_offline() -> None:
    _, b = _pair()
    maps = b.target_maps()
    assert maps["fc1"].targets.shape == (32, 64)
    assert maps["fc2"].targets.shape == (96, 8)
    assert maps["fc1"].periphery["input"]["repeat"] == 2
    assert maps["fc2"].periphery["output"]["r_fb"] == 1e4 / 3
    x = torch.rand(20, 16).round()
    offline = network_forward(x.numpy().astype(np.float64), [(m.targets, m.periphery) for m in maps.values()])[-1]
    with torch.no_grad():
        assert np.allclose(offline, b.forward_hw(x).numpy(), atol=1e-6)


def test_row_voltages_tile_the_inputs_over_the_repeated_rows() -> None:
    v = row_voltages(np.array([[0.0, 1.0, 1.0]]), {"v_per_unit": 0.2, "offset": -0.1, "repeat": 2})
    assert np.allclose(v, [[-0.1, 0.1, 0.1, -0.1, 0.1, 0.1]])
    with pytest.raises(ConfigError, match=r"input\.repeat"):
        row_voltages(np.zeros((1, 3)), {"repeat": 0})


def test_repeats_are_checked_and_survive_save_and_load(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="repeats"):
        SoftBinaryNet((16, 32, 4), repeats=(2,))
    with pytest.raises(ConfigError, match="repeats"):
        SoftBinaryNet((16, 32, 4), repeats=(2, 9))
    _, b = _pair()
    save_model(b, tmp_path / "m", {})
    c = load_model(tmp_path / "m")
    assert isinstance(c, SoftBinaryNet)
    assert c.repeats == [2, 3]
    x = torch.rand(5, 16).round()
    with torch.no_grad():
        assert torch.equal(c.forward_hw(x), b.forward_hw(x))
