"""The loop with input repeats: every input of the first layer drives two rows of the bench."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest

from labctl.bench import DEFAULT_CONFIG
from labctl.jobs.closed_loop import LoopOptions, run_loop
from labctl.train import load_model
from labctl.train.letters import SoftBinaryNet

pytestmark = pytest.mark.timeout(600)


def test_repeated_inputs_are_programmed_read_and_run_on_their_own_rows(tmp_path: Path) -> None:
    opts = LoopOptions(out=str(tmp_path), bench=str(DEFAULT_CONFIG), sizes=(16, 4, 4), repeats=(2, 1), n_test=16,
                       retrain_epochs=5, retrain_restarts=0, retrain_continuations=0, read_repeats=1,
                       train={"restarts": 1, "epochs": 40, "hard_epochs": 20}, transport="inproc", place="fixed")
    res = asyncio.run(run_loop(opts))
    model = load_model(tmp_path / "model")
    assert isinstance(model, SoftBinaryNet)
    assert model.repeats == [2, 1]
    layers = {m.layer: m for m in res.report.maps if m.stage == "initial"}
    assert len(layers["fc1"].targets) == 32  # 16 inputs x 2 rows, each programmed and read
    assert len(layers["fc2"].targets) == 4
    _, measured, _ = layers["fc1"].arrays()
    assert not np.isnan(measured).any()
    # the bench drives both copies of every input: its outputs follow the offline model on the maps it read
    v_rail = float(res.report.model["v_rail"])
    for e in res.report.layer_errors:
        if e.reference == "offline on the measured maps":
            assert e.mean_error < 0.05 * v_rail / 1.2
    stored = json.loads(res.json.read_text())
    assert stored["parameters"]["loop"]["repeats"] == [2, 1]
