"""WiredNet: the letters network on placed lines with wire resistance (ideal wires = the base network)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from labctl.core.errors import ConfigError
from labctl.train.ir_drop import LineResistance
from labctl.train.letters import SoftBinaryNet
from labctl.train.letters_retrain import binary_targets, retrain_letters
from labctl.train.measured import MeasuredMap
from labctl.train.wired import ChipLines, PlacedSegment, WiredNet
from sim_instruments import solve_crossbar

torch.set_num_threads(1)  # as the other trainer tests: a busy 2-core machine makes threads spin

REALISTIC = LineResistance(r_row=2.5, r_col=2.5, r_contact=5.0)


def _net() -> SoftBinaryNet:
    torch.manual_seed(0)
    net = SoftBinaryNet((16, 32, 4), 8e-6, 77e-6, 500.0, 1.2, 1e4, 0.1, 0.15, True, 0.002)
    with torch.no_grad():
        for w in net.weights:
            w.copy_(torch.randn(w.shape) * 0.01)
    return net


def _lines(wires: LineResistance) -> ChipLines:
    """fc1 on rows 40..55 of xbar0 (every column, outputs reversed); fc2 split over both crossbars."""
    rng = np.random.default_rng(0)
    bg = {x: rng.uniform(4e-6, 12e-6, (64, 64)) for x in ("xbar0", "xbar1")}
    fc1 = [PlacedSegment("xbar0", tuple(range(40, 56)), tuple(range(64)), tuple(range(63, -1, -1)))]
    fc2 = [PlacedSegment("xbar1", tuple(range(3, 35)), (5, 9, 11, 20), (0, 1, 2, 3)),
           PlacedSegment("xbar0", tuple(range(0, 32)), (1, 2, 3, 4), (4, 5, 6, 7))]
    return ChipLines({"fc1": fc1, "fc2": fc2}, {x: wires for x in bg}, bg)


def test_with_ideal_wires_the_wired_network_is_the_network() -> None:
    _assert_ideal_lines_change_nothing(_net())


def _assert_ideal_lines_change_nothing(net: SoftBinaryNet) -> None:
    wired = WiredNet.wrap(net, _lines(LineResistance()))
    x = torch.rand(20, 16)
    net.eval()
    wired.eval()
    with torch.no_grad():
        assert torch.allclose(wired.forward_hw(x), net.forward_hw(x), rtol=1e-4, atol=1e-6)


def test_with_ideal_wires_the_wired_network_keeps_the_amplifier_bias() -> None:
    """The robust recipe's networks have a bias current per amplifier: on the lines it is added as in the base."""
    torch.manual_seed(0)
    net = SoftBinaryNet((16, 32, 4), 8e-6, 77e-6, 500.0, 0.15, 1e4, 0.1, 0.15, True, 0.002, bias=True)
    with torch.no_grad():
        for w in net.weights:
            w.copy_(torch.randn(w.shape) * 0.01)
        for b in net.biases:
            b.copy_(torch.randn(b.shape) * 5.0)
    _assert_ideal_lines_change_nothing(net)
    x = torch.rand(20, 16)
    with torch.no_grad():  # and the biases matter: the comparison above would catch their loss
        assert not torch.allclose(net.forward_hw(x), SoftBinaryNet.forward_hw(_unbiased(net), x), atol=1e-6)


def _unbiased(net: SoftBinaryNet) -> SoftBinaryNet:
    out = SoftBinaryNet(**net.config())
    out.load_state_dict(net.state_dict())
    with torch.no_grad():
        for b in out.biases:
            b.zero_()
    return out.eval()


def test_a_layer_on_its_lines_matches_the_nodal_solve_of_the_whole_array() -> None:
    net = _net()
    lines = _lines(REALISTIC)
    wired = WiredNet.wrap(net, lines)
    g_map = binary_targets(net)["fc1"].targets  # (16, 64) crossbar layout
    v = np.random.default_rng(1).choice([-0.1, 0.1], (2, 16))
    got = lines.currents("fc1", torch.as_tensor(v), torch.as_tensor(g_map)).numpy()
    seg = lines.layers["fc1"][0]
    full = lines.background["xbar0"].copy()
    full[np.ix_(seg.rows, seg.cols)] = g_map[:, list(seg.outputs)]
    for k in range(2):
        rv = [0.0] * 64
        for r, x in zip(seg.rows, v[k], strict=True):
            rv[r] = float(x)
        sol = solve_crossbar(full, rv, [0.0] * 64, r_row=2.5, r_col=2.5, r_contact=5.0)
        ref = -sol.col_currents[list(seg.cols)]
        ref_logical = np.empty(64)
        ref_logical[list(seg.outputs)] = ref
        scale = np.abs(ref_logical).max()
        err_model = np.abs(got[k] - ref_logical).max()
        err_ideal = np.abs(v[k] @ g_map - ref_logical).max()
        # the wires matter (the ideal product is off by > 5 % of full scale); the model, which leaves out the
        # leak of the grounded rows' cells, recovers most of it (to within 1.5 % of full scale)
        assert err_ideal > 0.05 * scale
        assert err_model < 0.015 * scale
        assert err_model < 0.25 * err_ideal
    assert lines.worst_coupling() < 1.0
    assert wired.lines is lines


def test_retraining_runs_through_the_wired_network() -> None:
    net = _net()
    wired = WiredNet.wrap(net, _lines(REALISTIC))
    maps = {n: MeasuredMap(n, t.targets, np.full(t.targets.shape, "converged"), 0.1, "run")
            for n, t in binary_targets(net).items()}
    res = retrain_letters(wired, maps, epochs=2, restarts=0)
    assert set(res.targets) == {"fc1", "fc2"}
    assert 0.0 <= res.after["measured"] <= 1.0


def test_a_segment_on_an_unknown_crossbar_is_refused() -> None:
    lines = _lines(REALISTIC)
    lines.layers["fc1"] = [PlacedSegment("xbar9", (0,), (0,), (0,))]
    with pytest.raises(ConfigError, match="crossbar"):
        WiredNet.wrap(_net(), lines)


def test_coupling_counts_only_the_rows_a_segment_drives() -> None:
    bg = np.full((64, 64), 5e-6)
    bg[60, :4] = 1.8e-3  # four stuck-ON cells on a row no layer drives: grounded, not in the model
    seg = [PlacedSegment("xbar0", tuple(range(8)), tuple(range(16)), tuple(range(16)))]
    lines = ChipLines({"fc": seg}, {"xbar0": REALISTIC}, {"xbar0": bg})
    assert lines.worst_coupling() < 0.1
    bg[3, 40:44] = 1.8e-3  # the same on a driven row (in columns the layer does not use): its wire carries them
    assert lines.worst_coupling() > 1.0


def test_the_model_converges_on_lines_beyond_the_loose_coupling_bound_and_not_past_divergence() -> None:
    seg = [PlacedSegment("xbar0", tuple(range(48, 64)), tuple(range(64)), tuple(range(64)))]
    bg = np.full((64, 64), 60e-6)
    bg[56, :4] = 1.2e-3  # a row like the realistic chip's worst: coupling about 1.3, the fixed point settles
    lines = ChipLines({"fc": seg}, {"xbar0": REALISTIC}, {"xbar0": bg})
    assert lines.worst_coupling() > 1.0
    assert lines.converges()
    bg[56, :] = 2e-3  # 64 stuck-ON cells on one row: r * G ~ 21, the fixed point diverges
    assert not lines.converges()
