"""The realistic simulated chip config: wire resistance per crossbar, defects, and strict validation of
``sim.wires``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from labctl.core.config import BenchConfig, load_bench_config
from labctl.jobs.closed_loop import LOOP_BENCH
from sim_instruments.bench import build_crossbars

ROOT = Path(__file__).resolve().parents[2]
REALISTIC = ROOT / "configs" / "sim_bench_realistic.yaml"
DEFAULT = ROOT / "configs" / "sim_bench.yaml"


def test_realistic_bench_has_the_default_wiring_and_a_defective_wired_chip():
    real, ideal = load_bench_config(REALISTIC), load_bench_config(DEFAULT)
    assert real.crossbars == ideal.crossbars  # same arrays, matrices and wiring
    assert {n: i.driver for n, i in real.instruments.items()} == {n: i.driver for n, i in ideal.instruments.items()}
    xbars = build_crossbars(real)
    for name, xb in xbars.items():
        assert (xb.wires.r_row, xb.wires.r_col, xb.wires.r_contact) == (2.5, 2.5, 5.0), name
        assert xb.nodal
        on, off = float(xb.array.stuck_on.mean()), float(xb.array.stuck_off.mean())
        assert 0.005 < on < 0.015
        assert 0.005 < off < 0.015
    assert all(not xb.nodal for xb in build_crossbars(ideal).values())  # the embedded bench keeps ideal lines


def test_the_main_job_runs_the_realistic_chip_by_default():
    assert LOOP_BENCH.resolve() == REALISTIC.resolve()


@pytest.mark.parametrize(("wires", "match"), [
    ({"xbar9": {"r_row": 1.0}}, "sim.wires.xbar9: unknown crossbar"),
    ({"xbar0": {"r_row": -1.0}}, "r_row"),
    ({"xbar0": {"r_contact": 1e6}}, "r_contact"),
    ({"xbar0": {"r_wire": 1.0}}, "r_wire"),
])
def test_wires_are_strictly_validated(wires, match):
    raw = yaml.safe_load(DEFAULT.read_text())
    raw["sim"]["wires"] = wires
    with pytest.raises(ValidationError, match=match):
        BenchConfig.model_validate(raw)


def test_virgin_chip_from_config_starts_unformed():
    raw = yaml.safe_load(REALISTIC.read_text())
    raw["sim"]["nonideal"].update({"virgin": 1.0, "stuck_on": 0.0, "stuck_off": 0.0})
    arr = build_crossbars(BenchConfig.model_validate(raw))["xbar0"].array
    assert arr.virgin.all()
    assert float(np.asarray(arr.conductance(0.1)).max()) < 1e-8
