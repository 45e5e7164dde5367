"""Letters network, crossbar forward in physical units, MLP loop (small sizes, 1 thread)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from labctl.train import (
    SEED_WINDOW,
    ConductanceWindow,
    export_targets,
    load_model,
    load_target_maps,
    network_forward,
    output_errors,
    outputs_from_currents,
    program_with_faults,
    save_model,
)
from labctl.train.crossbar import column_currents, row_voltages
from labctl.train.datasets import load_digits, load_letters
from labctl.train.layers import inv_amp, lsq_quantize, noisy_ste, soft_binarize
from labctl.train.letters import SoftBinaryNet, train_letters
from labctl.train.mlp import CrossbarMLP, fit_mlp
from labctl.train.retrain import chip_in_the_loop, evaluate, fit_noise_model

torch.set_num_threads(1)


def test_soft_binarize_limits_and_inv_amp() -> None:
    w = torch.tensor([-1.0, 0.0, 1.0])
    g = soft_binarize(w, 500.0, SEED_WINDOW.g_off, SEED_WINDOW.g_on)
    assert torch.allclose(g, torch.tensor([SEED_WINDOW.g_off, (SEED_WINDOW.g_off + SEED_WINDOW.g_on) / 2,
                                           SEED_WINDOW.g_on], dtype=g.dtype))
    i = torch.tensor([1e-3, -1e-3, 0.0])
    v = inv_amp(i, 1.2, 2e3)
    assert v[0] < 0 < v[1]
    assert v[2] == 0
    assert torch.all(v.abs() <= 1.2)
    assert torch.isclose(inv_amp(torch.tensor(1e-6), 1.2, 2e3), torch.tensor(-2e-3), rtol=1e-4)


def test_noise_ste_is_noisy_forward_identity_backward() -> None:
    torch.manual_seed(0)
    w = torch.linspace(-1, 1, 1000, requires_grad=True)
    out = noisy_ste(w, 0.1)
    assert 0.15 < float((out - w).detach().std()) < 0.25  # 0.1 * 2 max|w| = 0.2
    out.sum().backward()
    assert w.grad is not None
    assert torch.all(w.grad == 1)


def test_lsq_quantize_levels_and_step_gradient() -> None:
    w = torch.linspace(-1, 1, 101, requires_grad=True)
    step = torch.tensor(0.25, requires_grad=True)
    q = lsq_quantize(w, step, bits=3)
    assert set(torch.unique(q).tolist()) <= {k * 0.25 for k in range(-3, 4)}
    q.pow(2).sum().backward()
    assert step.grad is not None
    assert step.grad != 0
    assert w.grad is not None


def test_letters_torch_forward_matches_numpy_crossbar(tmp_path) -> None:  # type: ignore[no-untyped-def]
    torch.manual_seed(1)
    m = SoftBinaryNet((16, 6, 4), differential=True, v_clamp=0.15, r_fb=1e4)
    x = load_letters().x_test[:50]
    torch_out = m.layer_outputs(torch.as_tensor(x))
    np_out = m.numpy_forward(x)
    for a, b in zip(torch_out, np_out, strict=True):
        assert np.allclose(a.numpy(), b, atol=1e-6)
    # bench path: currents measured on the programmed maps -> the same outputs
    maps = export_targets(m, tmp_path / "t")
    fc1 = maps["fc1"]
    cur = column_currents(row_voltages(x, fc1.periphery["input"]), fc1.targets)
    e = output_errors(np_out[0], outputs_from_currents(cur, fc1.periphery))
    assert e.max_error < 1e-12
    assert e.n_outputs == 6
    assert set(load_target_maps(tmp_path / "t")) == {"fc1", "fc2"}


def test_letters_training_improves_and_binary_export_guards_window() -> None:
    res = train_letters("improved", epochs=40)
    assert res.crossbar_acc > 0.6  # chance is 0.25
    assert abs(res.drop) < 0.1
    with pytest.raises(Exception, match="window"):
        res.model.target_maps(ConductanceWindow(1e-6, 1e-4))


def test_mlp_export_any_window_matches_forward(tmp_path) -> None:  # type: ignore[no-untyped-def]
    d = load_digits()
    m = CrossbarMLP((64, 16, 10))
    fit_mlp(m, d.x_train, d.y_train, epochs=3)
    win = ConductanceWindow(1e-6, 120e-6, 0.1)
    maps = export_targets(m, window=win)
    outs = network_forward(d.x_test[:20], [(t.targets, t.periphery) for t in maps.values()])
    ref = m.forward_hw(torch.as_tensor(d.x_test[:20])).detach().numpy()
    assert np.allclose(outs[-1], ref, atol=1e-4)
    save_model(m, tmp_path / "model", {"dataset": "digits"})
    back = load_model(tmp_path / "model")
    assert torch.allclose(back.forward_hw(torch.as_tensor(d.x_test[:5])), m.forward_hw(torch.as_tensor(d.x_test[:5])))


def test_chip_in_the_loop_recovers_and_masks() -> None:
    d = load_digits()
    m = CrossbarMLP((64, 32, 10))
    fit_mlp(m, d.x_train, d.y_train, epochs=20)
    targets = m.target_maps()
    meas = program_with_faults(targets, stuck_on=0.05, stuck_off=0.05, sigma=0.01, seed=3)
    acc = evaluate(m, d.x_test, d.y_test, meas)
    assert acc["measured"] < acc["ideal_crossbar"] - 0.05
    nm = fit_noise_model(targets, meas)
    assert all(0.03 < nm.stuck_on[k] < 0.08 for k in meas)
    res = chip_in_the_loop(m, meas, d.x_train, d.y_train, x_test=d.x_test, y_test=d.y_test, epochs=8)
    assert res.after["measured"] > acc["measured"] + 0.05
    for name, tm in res.targets.items():
        assert tm.mask is not None
        stuck = ~meas[name].usable
        assert not np.any(tm.mask & stuck)  # never reprogram stuck cells
        assert 0 < res.cells_to_program[name] < tm.targets.size
