"""Programmed-crossbar evaluation of the letters network: seeded per-cell lognormal variation of the targets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from labctl.core.errors import ConfigError
from labctl.train.letters import PROGRAM_SIGMA, evaluate_letters, programmed_maps, train_letters

torch.set_num_threads(1)


def test_programmed_maps_lognormal_and_seeded() -> None:
    model = train_letters("seed", epochs=20, seed=0).model
    targets = {k: t.targets for k, t in model.target_maps().items()}
    a = programmed_maps(model, 0.2, np.random.default_rng(5))
    b = programmed_maps(model, 0.2, np.random.default_rng(5))
    assert all(np.array_equal(a[k], b[k]) for k in a)  # seeded
    log_ratio = np.concatenate([np.log(a[k] / targets[k]).ravel() for k in a])
    assert abs(log_ratio.std() - 0.2) < 0.03  # 160 cells: sigma of the log ratio ~ 0.2
    assert abs(log_ratio.mean()) < 0.05
    zero = programmed_maps(model, 0.0, np.random.default_rng(5))
    assert all(np.array_equal(zero[k], targets[k]) for k in zero)
    with pytest.raises(ConfigError, match="program_sigma"):
        programmed_maps(model, 1.5, np.random.default_rng(0))


def test_crossbar_accuracy_includes_variation() -> None:
    res = train_letters("seed", epochs=60, seed=1)
    assert res.program_sigma == PROGRAM_SIGMA
    assert 0.0 <= res.crossbar_acc <= 1.0
    exact = evaluate_letters(res.model, program_sigma=0.0, draws=2)
    assert exact.crossbar_acc == exact.ideal_crossbar_acc  # no variation: the binarized map itself
    assert exact.ideal_crossbar_acc == res.ideal_crossbar_acc
    wild = evaluate_letters(res.model, program_sigma=1.0, draws=10, seed=3)
    # sigma 1 (a factor e either way) scrambles a 27:1 binary window: the mean accuracy moves off the ideal one
    assert wild.crossbar_acc != wild.ideal_crossbar_acc
    with pytest.raises(ConfigError, match="draws"):
        evaluate_letters(res.model, draws=0)
