"""Noisy letters (issue 14): the seeded robustness sets, the mixed augmentation, the bias periphery and a robust
network that beats a threshold on a noisy set it was not selected on."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from labctl.core.errors import ConfigError
from labctl.train.crossbar import column_currents, outputs_from_currents, row_voltages
from labctl.train.datasets import load_letters
from labctl.train.letters import SoftBinaryNet
from labctl.train.letters_robust import ROBUST_RECIPE, augment_letters, noisy_crossbar_accuracies, train_robust
from labctl.train.noisy_letters import TEST_SEED, VAL_SEED, noisy_accuracies, noisy_letters
from labctl.train.reproduce import noisy_row


def test_noisy_sets_are_seeded_and_have_the_noise_they_name() -> None:
    ds = load_letters()
    sets = {s.name: s for s in noisy_letters(copies=5)}
    assert list(sets) == ["flip2", "flip3", "gauss0.3", "gauss0.4", "gauss0.5"]
    clean = np.repeat(ds.x_train, 5, axis=0)
    for k in (2, 3):
        s = sets[f"flip{k}"]
        assert s.x.shape == (200, 16)
        assert np.array_equal(s.y, np.repeat(ds.y_train, 5))
        assert ((s.x != clean).sum(axis=1) == k).all()  # exactly k distinct pixels inverted
    g = sets["gauss0.5"]
    assert g.x.min() >= 0.0
    assert g.x.max() <= 1.0
    # N(0, 0.5^2) clipped to [0, 1] on binary pixels: half the draws point out of range and vanish, so the mean
    # |change| is about 0.5 * E|N| = 0.5 * 0.5 * sqrt(2 / pi) = 0.20 (a little less where the rest reaches 1)
    assert 0.17 < np.abs(g.x - clean).mean() < 0.21
    assert 0.17 < np.abs(sets["gauss0.4"].x - clean).mean() * 0.5 / 0.4 < 0.21
    again = noisy_letters(copies=5)
    assert all(np.array_equal(a.x, b.x) for a, b in zip(again, sets.values(), strict=True))
    val = noisy_letters(VAL_SEED, copies=5)
    assert TEST_SEED != VAL_SEED
    assert not np.array_equal(val[0].x, sets["flip2"].x)  # validation draws are not the test draws
    with pytest.raises(ConfigError, match="copies"):
        noisy_letters(copies=0)


def test_noisy_accuracies_count_correct_predictions() -> None:
    sets = noisy_letters(copies=2)
    perfect = noisy_accuracies(lambda x: sets[0].y if len(x) == len(sets[0].y) else np.zeros(len(x)), sets[:1])
    assert perfect == {"flip2": 1.0, "mean": 1.0}
    constant = noisy_accuracies(lambda x: np.zeros(len(x), dtype=np.int64), sets)
    assert constant["flip3"] == pytest.approx(0.25)  # 10 letters of each of 4 classes


def test_mixed_augmentation_flips_at_most_max_flips_or_adds_bounded_noise() -> None:
    x = torch.as_tensor(load_letters().x_train).repeat(20, 1)
    out = augment_letters(x, torch.Generator().manual_seed(0), 3, 0.5)
    assert out.shape == x.shape
    assert out.min() >= 0
    assert out.max() <= 1
    binary = ((out == 0) | (out == 1)).all(dim=1)
    flips = (out[binary] != x[binary]).sum(dim=1)
    assert flips.max() <= 3
    assert (flips == 3).any()
    assert (flips == 0).any()
    assert 0.3 < float(binary.float().mean()) < 0.7  # half the samples flipped, half Gaussian
    with pytest.raises(ConfigError, match="max_flips"):
        augment_letters(x, torch.Generator(), 17, 0.5)


def test_bias_currents_reach_the_periphery_the_bench_uses() -> None:
    torch.manual_seed(0)
    m = SoftBinaryNet((16, 6, 4), differential=True, v_clamp=0.15, r_fb=1e4, v_rail=0.15, bias=True)
    with torch.no_grad():
        for b in m.biases:
            b.uniform_(-2, 2)
    x = load_letters().x_test[:40]
    m.eval()
    with torch.no_grad():
        torch_out = m.layer_outputs(torch.as_tensor(x))
    np_out = m.numpy_forward(x)
    for a, b in zip(torch_out, np_out, strict=True):
        assert np.allclose(a.numpy(), b, atol=1e-6)
    fc1 = m.target_maps()["fc1"]
    assert fc1.periphery["output"]["bias"] is not None
    assert len(fc1.periphery["output"]["bias"]) == 6
    cur = column_currents(row_voltages(x, fc1.periphery["input"]), fc1.targets)  # what the bench measures
    assert np.allclose(outputs_from_currents(cur, fc1.periphery), np_out[0], atol=1e-12)
    no_bias = dict(fc1.periphery, output=dict(fc1.periphery["output"], bias=None))
    assert not np.allclose(outputs_from_currents(cur, no_bias), np_out[0], atol=1e-3)


def test_robust_network_beats_a_threshold_on_a_seeded_noisy_set() -> None:
    """A short robust training (one restart, 30 of the recipe's 360 epochs) on the binarized crossbar: the 2-flip set
    above what the improved recipe reaches there (82 %), the 160 one-flip images still >= 95 %."""
    torch.set_num_threads(1)
    res = train_robust(ROBUST_RECIPE | {"epochs": 20, "hard_epochs": 10, "restarts": 1}, seed=0)
    acc = noisy_crossbar_accuracies(res.model)
    assert acc["flip2"] >= 0.85
    assert acc["gauss0.3"] >= 0.95
    assert res.ideal_crossbar_acc >= 0.95


def test_noisy_row_names_both_networks() -> None:
    per = {"flip2": 0.95, "flip3": 0.8, "mean": 0.9}
    row = noisy_row({"float_mlp": per, "robust": dict(per, flip2=0.9), "improved": dict(per, flip2=0.8),
                     "robust_160": {"software_acc": 0.99, "crossbar_acc": 0.98, "drop": 0.01}})
    assert "95.0 / 80.0 / 90.0 % vs 90.0 / 80.0 / 90.0 % vs 80.0 / 80.0 / 90.0 %" in row
    assert "drop 1.0 %" in row
