"""The trainer's IR-drop model against the simulator's full nodal solve (an independent solver of the same network)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from labctl.core.errors import ConfigError
from labctl.train.ir_drop import LineResistance, coupling, ir_column_currents
from sim_instruments import solve_crossbar

torch.set_num_threads(1)  # as the other trainer tests: a busy 2-core machine makes threads spin

REALISTIC = LineResistance(r_row=2.5, r_col=2.5, r_contact=5.0)  # configs/sim_bench_realistic.yaml


def _parked_map(rng: np.random.Generator, shape: tuple[int, int] = (64, 64)) -> np.ndarray:
    """A 64x64 chip as the loop leaves it: cells parked OFF (~8 uS), a binary layer block (8 / 77 uS) on rows
    20-35, 20 stuck-ON cells (1.8 mS) anywhere (harsher than placement allows: some sit in driven rows)."""
    g = rng.uniform(4e-6, 12e-6, shape)
    block = rng.random((16, 64)) < 0.4
    g[20:36, :] = np.where(block, 77e-6, 8e-6) * rng.uniform(0.9, 1.1, (16, 64))
    g[rng.integers(0, 64, 20), rng.integers(0, 64, 20)] = 1.8e-3
    return g


def _reference(g: np.ndarray, v: np.ndarray, wires: LineResistance) -> np.ndarray:
    out = np.empty((len(v), g.shape[1]))
    for k, vk in enumerate(v):
        sol = solve_crossbar(g, [float(x) for x in vk], [0.0] * g.shape[1], r_row=wires.r_row, r_col=wires.r_col,
                             r_contact=wires.r_contact)
        out[k] = -sol.col_currents
    return out


def test_ir_model_matches_the_nodal_solve_on_a_parked_realistic_chip() -> None:
    rng = np.random.default_rng(1)
    g = _parked_map(rng)
    v = np.zeros((3, 64))
    v[:, 20:36] = rng.choice([-0.1, 0.1], (3, 16))
    ref = _reference(g, v, REALISTIC)
    ideal = v @ g
    got = ir_column_currents(torch.as_tensor(v), torch.as_tensor(g), REALISTIC).numpy()
    scale = np.abs(ref).max()
    # the wires matter here (the ideal product is off by more than 1 % of full scale) ...
    assert np.abs(ideal - ref).max() > 0.01 * scale
    # ... and the model recovers the solver to 0.1 % of full scale
    assert np.abs(got - ref).max() < 1e-3 * scale
    assert coupling(torch.as_tensor(g), REALISTIC) < 1.0
    # every step brings it closer (the fixed point contracts)
    errs = [np.abs(ir_column_currents(torch.as_tensor(v), torch.as_tensor(g), REALISTIC, n).numpy()
                   - ref).max() for n in (1, 2, 4, 8, 12)]
    assert all(b < a for a, b in itertools.pairwise(errs))


def test_one_iteration_is_the_ideal_crossbar_and_zero_wires_are_exact() -> None:
    rng = np.random.default_rng(2)
    g = torch.as_tensor(rng.uniform(1e-6, 1e-4, (8, 5)))
    v = torch.as_tensor(rng.uniform(-0.1, 0.1, (4, 8)))
    assert torch.allclose(ir_column_currents(v, g, REALISTIC, iterations=1), v @ g)
    assert torch.allclose(ir_column_currents(v, g, LineResistance()), v @ g)


def test_far_cells_lose_more_and_gradients_flow_to_the_conductances() -> None:
    g = torch.full((16, 16), 77e-6, dtype=torch.float64, requires_grad=True)
    v = torch.full((1, 16), 0.1, dtype=torch.float64)
    i = ir_column_currents(v, g, REALISTIC)
    ideal = (v @ g).detach()
    got = i.detach()
    assert (got < ideal).all()
    # column 0 is next to the row drivers: it loses least along the rows
    assert float(got[0, 0]) > float(got[0, -1])
    i.sum().backward()
    assert g.grad is not None
    assert torch.isfinite(g.grad).all()
    assert (g.grad > 0).all()


def test_bad_wires_and_shapes_are_refused_naming_the_field() -> None:
    with pytest.raises(ConfigError, match="r_row"):
        LineResistance(r_row=-1.0)
    with pytest.raises(ConfigError, match="v_rows"):
        ir_column_currents(torch.zeros(2, 3), torch.zeros(4, 4), REALISTIC)
