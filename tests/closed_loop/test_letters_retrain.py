"""Chip-in-the-loop retraining of the letters network recovers accuracy lost to stuck cells (offline chip)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from labctl.core.errors import ConfigError
from labctl.core.records import CellStatus
from labctl.train.datasets import load_letters
from labctl.train.layers import hard_binarize_ste
from labctl.train.letters import IMPROVED_RECIPE, train_letters
from labctl.train.letters_retrain import (
    binary_targets,
    retrain_letters,
    selection_errors,
    selection_loss,
)
from labctl.train.mapping import ConductanceWindow
from labctl.train.measured import STATUS_CODES, MeasuredMap
from labctl.train.synthetic import program_with_faults


def test_retraining_recovers_accuracy_and_masks_only_changed_usable_cells():
    window = ConductanceWindow(8e-6, 77e-6, 0.1)
    trained = train_letters(IMPROVED_RECIPE, window=window, seed=0, epochs=150)
    targets = binary_targets(trained.model)
    meas = program_with_faults(targets, stuck_on=0.02, stuck_off=0.02, sigma=0.03, seed=1)
    stuck = STATUS_CODES[CellStatus.STUCK]
    # a stuck-ON cell of the simulated chip reads about 1.8 mS, far above G_ON
    meas = {k: MeasuredMap(k, np.where((m.status == stuck) & (m.conductance >= window.g_on), 1.8e-3,
                                       m.conductance), m.status, 0.1) for k, m in meas.items()}
    res = retrain_letters(trained.model, meas, epochs=150)
    assert res.before["measured"] < trained.crossbar_acc - 0.2  # the faults hurt
    assert res.after["measured"] > res.before["measured"] + 0.15  # retraining recovers a good part
    # what the loop decides a pass on: noisy training letters wrong on the chip as read, and once reprogrammed
    ds = load_letters()
    assert res.before["errors"] == selection_errors(
        res.model, res.model.hw_conductances({k: m.conductance for k, m in meas.items()}), ds)
    assert res.before["selection"] == pytest.approx(selection_loss(
        res.model, res.model.hw_conductances({k: m.conductance for k, m in meas.items()}), ds))
    assert res.after["errors"] < res.before["errors"]
    assert res.after["selection"] < res.before["selection"]
    for name, tm in res.targets.items():
        m = meas[name]
        assert tm.mask is not None
        assert not (tm.mask & ~m.usable).any()  # stuck cells are never reprogrammed
        assert res.cells_to_program[name] == int(tm.mask.sum()) > 0
        unchanged = ~tm.mask
        assert np.allclose(tm.targets[unchanged], np.clip(m.conductance, window.g_off, window.g_on)[unchanged])


def _faulted(seed: int = 1):
    window = ConductanceWindow(8e-6, 77e-6, 0.1)
    trained = train_letters(IMPROVED_RECIPE, window=window, seed=0, epochs=150)
    targets = binary_targets(trained.model)
    return trained, program_with_faults(targets, stuck_on=0.0, stuck_off=0.04, sigma=0.03, seed=seed)


def test_selection_loss_over_failure_draws_is_their_mean():
    trained, meas = _faulted()
    model = trained.model
    ds = load_letters()
    chips = [[torch.as_tensor(model._from_map(m.conductance, w.detach())) for m, w in
              zip(meas.values(), model.weights, strict=True)],
             [hard_binarize_ste(w.detach(), model.zeta, 8e-6, 77e-6) for w in model.weights]]
    one = [selection_loss(model, c, ds) for c in chips]
    assert one[0] != one[1]
    assert selection_loss(model, lambda k: chips[k], ds, draws=2) == pytest.approx(sum(one) / 2)


def test_programming_outcomes_are_checked():
    trained, meas = _faulted()
    with pytest.raises(ConfigError, match=r"outcomes\[on\]"):
        retrain_letters(trained.model, meas, epochs=1, outcomes=([8e-6], []))


def test_retraining_with_drawn_outcomes_expects_reprogrammed_cells_where_the_chip_puts_them():
    trained, meas = _faulted()
    # a chip whose ON cells land anywhere in 40..160 uS: the retraining still finds a network that works on it
    res = retrain_letters(trained.model, meas, epochs=30, outcomes=(np.full(50, 6e-6), np.linspace(40e-6, 160e-6, 50)))
    assert res.after["measured"] >= res.before["measured"]


def test_continuations_keep_the_run_with_the_lowest_selection_loss():
    trained, meas = _faulted()
    ds = load_letters()
    kept = []
    for cont in (0, 2):
        model = copy.deepcopy(trained.model)
        ticks: list[int] = []
        retrain_letters(model, meas, ds, epochs=4, continuations=cont, progress=lambda _e, n, _m, t=ticks: t.append(n))
        assert set(ticks) == {4 * (1 + cont)}  # one run from the trained weights plus the continuations
        kept.append(selection_loss(model, _chip(model, meas), ds))
    # run 0 is the same in both (same seed, same start): two more runs from the trained weights can only help
    assert kept[1] <= kept[0] + 1e-9


def _chip(model, meas):
    """The chip the retraining selects on (no outcome pools): frozen cells and cells whose binary state it keeps as
    read, changed cells at their binary target."""
    gs = []
    for m, w in zip(meas.values(), model.weights, strict=True):
        w = w.detach()
        g = hard_binarize_ste(w, model.zeta, 8e-6, 77e-6)
        read = torch.as_tensor(model._from_map(m.conductance, w))
        fixed = torch.as_tensor(model._from_map(np.asarray(~m.usable, dtype=np.float64), w)) > 0.5
        keep = (w > 0) == (read > 0.5 * (8e-6 + 77e-6))
        gs.append(torch.where(fixed | keep, read, g))
    return gs
