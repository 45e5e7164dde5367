"""Periphery calibration (labctl.train.periphery_fit): amplifier biases and gains refit to a chip as read."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from labctl.core.errors import ConfigError
from labctl.train.crossbar import network_forward, periphery_output
from labctl.train.datasets import letters_test160, load_letters
from labctl.train.letters import SoftBinaryNet, train_letters
from labctl.train.letters_retrain import binary_targets, measured_accuracy
from labctl.train.letters_robust import ROBUST_RECIPE
from labctl.train.periphery_fit import GAIN_MAX, GAIN_MIN, fit_periphery


@pytest.fixture(scope="module")
def trained() -> SoftBinaryNet:
    torch.set_num_threads(1)
    recipe = ROBUST_RECIPE | {"epochs": 40, "hard_epochs": 20, "restarts": 1, "repeat": 5}
    return train_letters(recipe, seed=0).model


def _faulty_maps(model: SoftBinaryNet) -> dict[str, np.ndarray]:
    """The model's binary targets with six hidden columns hit: a stuck-ON cell (1.8 mS, 24x G_ON) in each."""
    maps = {n: tm.targets.copy() for n, tm in binary_targets(model).items()}
    for r, c in ((3, 0), (11, 5), (7, 12), (0, 21), (14, 30), (9, 47)):
        maps["fc1"][r, c] = 1.8e-3
    return maps


def test_fit_recovers_a_faulty_chip_without_touching_its_cells(trained: SoftBinaryNet) -> None:
    x, y = letters_test160(load_letters())
    ideal = {n: tm.targets for n, tm in binary_targets(trained).items()}
    assert measured_accuracy(trained, _faulty_maps(trained), x, y) < measured_accuracy(trained, ideal, x, y) - 0.02
    model = SoftBinaryNet(**trained.config())
    model.load_state_dict(trained.state_dict())
    maps = _faulty_maps(model)
    before = {n: m.copy() for n, m in maps.items()}
    ds = load_letters()
    fit = fit_periphery(model, maps, ds, recipe=ROBUST_RECIPE, seeds=3)
    assert all(np.array_equal(maps[n], before[n]) for n in maps)  # the chip is never changed
    assert fit.applied
    assert fit.selection_after < fit.selection_before
    assert fit.errors_after < fit.errors_before
    assert fit.accuracy_after > fit.accuracy_before + 0.03  # stuck-ON cells cost test letters; the fit wins some back
    for k, spec in enumerate(fit.peripheries):
        out = spec["output"]
        assert len(out["gain"]) == len(out["bias"]) == model.sizes[k + 1]
        assert all(GAIN_MIN <= g <= GAIN_MAX for g in out["gain"])
        assert out["bias"] == pytest.approx([1e-5 * float(b) for b in model.biases[k].detach()])  # kept in the model
    # the bench's numpy periphery (what inference on the bench applies to measured currents) gives the fit's accuracy
    logits = network_forward(x, [(maps[n], p) for n, p in zip(model.layer_names(), fit.peripheries, strict=True)])[-1]
    assert float((logits.argmax(1) == y).mean()) == pytest.approx(fit.accuracy_after)


def test_a_fit_that_fixes_no_selection_letter_is_not_kept(trained: SoftBinaryNet) -> None:
    """A fit that barely moves (one epoch at a tiny rate) gets no fewer noisy training letters right: the trained
    periphery stays, biases included, and the accuracy is the deployed one's."""
    model = SoftBinaryNet(**trained.config())
    model.load_state_dict(trained.state_dict())
    maps = _faulty_maps(model)
    deployed = [model.periphery(k)["output"] for k in range(2)]
    fit = fit_periphery(model, maps, recipe=ROBUST_RECIPE, seeds=1, epochs=1, lr=1e-9)
    assert fit.errors_after == fit.errors_before
    assert not fit.applied
    assert [p["output"] for p in fit.peripheries] == deployed
    assert [model.periphery(k)["output"] for k in range(2)] == deployed
    assert fit.accuracy_after == fit.accuracy_before


def test_gain_trims_the_feedback_resistance() -> None:
    spec = {"kind": "inv_amp", "v_rail": 0.15, "r_fb": 1e4, "inverting": True, "bias": [1e-6, 0.0], "gain": [2.0, 0.5]}
    i = np.array([[3e-6, -4e-6]])
    expect = -0.15 * np.tanh(np.array([4e-6 * 2.0, -4e-6 * 0.5]) * 1e4 / 0.15)
    assert periphery_output(i, spec) == pytest.approx(expect[None, :])
    assert periphery_output(i, spec | {"gain": None}) == pytest.approx(periphery_output(i, spec | {"gain": [1, 1]}))


def test_bad_input_is_refused_with_the_field(trained: SoftBinaryNet) -> None:
    maps = _faulty_maps(trained)
    no_bias = SoftBinaryNet(**(trained.config() | {"bias": False}))
    with pytest.raises(ConfigError, match=r"model\.bias"):
        fit_periphery(no_bias, maps)
    with pytest.raises(ConfigError, match=r"maps.*fc2"):
        fit_periphery(trained, {"fc1": maps["fc1"]})
    with pytest.raises(ConfigError, match="epochs"):
        fit_periphery(trained, maps, epochs=0)
    with pytest.raises(ConfigError, match="lr"):
        fit_periphery(trained, maps, lr=2.0)
