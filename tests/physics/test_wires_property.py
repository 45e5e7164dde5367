"""Property: for random arrays, line states (driven / floating) and wire resistances, the solved network obeys
Kirchhoff's current law at every node, checked here from the node voltages with an independent loop."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim_instruments import Crossbar, OhmicArray, RRAMArray
from sim_instruments.physics.nodal import LEAK
from sim_instruments.presets import STANFORD_V1

resist = st.one_of(st.just(0.0), st.floats(0.01, 200.0))
level = st.one_of(st.none(), st.floats(-0.4, 0.4))


@st.composite
def cases(draw):
    nr, nc = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    rows = draw(st.lists(level, min_size=nr, max_size=nr))
    cols = draw(st.lists(level, min_size=nc, max_size=nc))
    return nr, nc, rows, cols, draw(resist), draw(resist), draw(resist), draw(st.booleans()), draw(st.integers(0, 99))


def _node_residuals(i_cell, top, bot, rows, cols, r_row, r_col, r_contact):
    """Net current leaving each node (top then bottom), merging a line's nodes where its segments are 0 ohm;
    driven end nodes without contact resistance are sources (skipped). Returns (residuals, current scale)."""
    nr, nc = top.shape
    res = []
    for i in range(nr):
        groups = [list(range(nc))] if r_row == 0 else [[j] for j in range(nc)]
        for g in groups:
            out = sum(i_cell[i, j] for j in g)
            if r_row > 0:
                j = g[0]
                if j > 0:
                    out += (top[i, j] - top[i, j - 1]) / r_row
                if j < nc - 1:
                    out += (top[i, j] - top[i, j + 1]) / r_row
            if 0 in g and rows[i] is not None:
                if r_contact == 0:
                    assert abs(top[i, 0] - rows[i]) <= 1e-12
                    continue
                out += (top[i, 0] - rows[i]) / r_contact
            if rows[i] is None:
                out += LEAK * top[i, g[0]]
            res.append(out)
    for j in range(nc):
        groups = [list(range(nr))] if r_col == 0 else [[i] for i in range(nr)]
        for g in groups:
            out = -sum(i_cell[i, j] for i in g)
            if r_col > 0:
                i = g[0]
                if i > 0:
                    out += (bot[i, j] - bot[i - 1, j]) / r_col
                if i < nr - 1:
                    out += (bot[i, j] - bot[i + 1, j]) / r_col
            if nr - 1 in g and cols[j] is not None:
                if r_contact == 0:
                    assert abs(bot[nr - 1, j] - cols[j]) <= 1e-12
                    continue
                out += (bot[nr - 1, j] - cols[j]) / r_contact
            if cols[j] is None:
                out += LEAK * bot[g[0], j]
            res.append(out)
    return np.array(res)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_kcl_holds_at_every_node(case):
    nr, nc, rows, cols, r_row, r_col, r_contact, ohmic, seed = case
    rng = np.random.default_rng(seed)
    if ohmic:
        arr = OhmicArray(10 ** rng.uniform(-6, -3, (nr, nc)))
    else:
        arr = RRAMArray((nr, nc), STANFORD_V1, seed=seed)
        arr.gap = rng.uniform(STANFORD_V1.gap_min, STANFORD_V1.gap_max, (nr, nc))
    xb = Crossbar(arr, r_row=r_row, r_col=r_col, r_contact=r_contact)
    if not xb.nodal:  # every resistance 0 over model cells: the ideal path, with its own KCL tests
        return
    ri, ci = xb.read(rows, cols, 0.0)
    sol = xb.last_solution
    assert sol is not None
    i_cell = np.asarray(arr.current(sol.cell_voltages))
    res = _node_residuals(i_cell, sol.top, sol.bottom, rows, cols, r_row, r_col, r_contact)
    scale = max(float(np.abs(i_cell).max()), float(np.abs(ri).max()), float(np.abs(ci).max()), 1e-300)
    # float rounding of a wire current: a few ulps of the node voltage over the smallest resistance
    r_min = min([r for r in (r_row, r_col, r_contact) if r > 0] or [1.0])
    ulp = 8 * np.finfo(float).eps * max(float(np.abs(sol.top).max()), float(np.abs(sol.bottom).max()), 1e-3) / r_min
    # the solver stops at 1e-15 A + 1e-11 x the largest current it met while iterating (which can exceed the
    # final currents when every line near a node floats): a few femtoamps absolute
    assert np.abs(res).max(initial=0.0) <= 5e-15 + ulp + 1e-10 * scale
    # and what the sources deliver, the array takes in: Σ line currents ≈ 0. Every wire and cell current leaves one
    # node and enters another, so the sources' net current is minus the sum of the node residuals (each within the
    # solver's stopping rule above): the sum is bounded by Σ|residual|, not by one node's tolerance
    assert abs(float(ri.sum() + ci.sum())) <= float(np.abs(res).sum()) + ulp * (nr + nc) + 1e-9 * scale
