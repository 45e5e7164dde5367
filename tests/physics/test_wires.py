"""Crossbar with wire resistance: badcrossbar as an independent linear oracle, the ideal limit, energy balance,
and the known IR-drop results (output currents fall with size, far cells see least, half-select below V/2)."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

from labctl.core.errors import ConfigError
from sim_instruments import Crossbar, OhmicArray, RRAMArray, solve_crossbar
from sim_instruments.physics.kcl import solve_floating
from sim_instruments.physics.nodal import NodalNetwork, SinhLaw, Wires
from sim_instruments.presets import STANFORD_V1


def _badcrossbar():  # only its computing part is needed; its plotting part needs cairo
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pytest.importorskip("badcrossbar")


def rram(shape, seed=0, gap=None):
    a = RRAMArray(shape, STANFORD_V1, seed=seed)
    a.gap = np.random.default_rng(seed).uniform(STANFORD_V1.gap_min, STANFORD_V1.gap_max, shape) if gap is None \
        else np.full(shape, gap)
    return a


@pytest.mark.parametrize(("shape", "r"), [((7, 5), 3.0), ((4, 9), 0.5), ((1, 6), 2.5), ((6, 1), 20.0),
                                        ((16, 16), 2.5)])
def test_ohmic_crossbar_equals_badcrossbar(shape, r):
    """badcrossbar puts one segment between each source and its first cell: r_contact = r."""
    bc = _badcrossbar()
    rng = np.random.default_rng(shape[0] * 100 + shape[1])
    res = 10 ** rng.uniform(3, 5.5, shape)
    volts = rng.uniform(-1, 1, (shape[0], 1))
    ref = bc.compute(volts, res, r_i=r)
    xb = Crossbar(OhmicArray(1 / res), r_row=r, r_col=r, r_contact=r)
    ri, ci = xb.read(list(volts[:, 0]), [0.0] * shape[1])
    sol = xb.last_solution
    assert sol is not None
    wl, bl = np.asarray(ref.voltages.word_line).reshape(shape), np.asarray(ref.voltages.bit_line).reshape(shape)
    np.testing.assert_allclose(sol.top, wl, rtol=1e-9, atol=1e-12 * np.abs(wl).max())
    np.testing.assert_allclose(sol.bottom, bl, rtol=1e-9, atol=1e-12 * np.abs(wl).max())
    out = np.asarray(ref.currents.output).reshape(shape[1])
    first = np.asarray(ref.currents.word_line).reshape(shape)[:, 0]
    scale = np.abs(first).max()
    np.testing.assert_allclose(-ci, out, rtol=1e-9, atol=1e-12 * scale)
    np.testing.assert_allclose(ri, first, rtol=1e-9, atol=1e-12 * scale)
    dev = np.asarray(ref.currents.device).reshape(shape)
    np.testing.assert_allclose(sol.cell_voltages / res, dev, rtol=1e-9, atol=1e-12 * scale)


def test_zero_wire_resistance_equals_the_ideal_path():
    shape = (6, 5)
    a1, a2 = rram(shape, seed=3), rram(shape, seed=3)
    ideal, wired0 = Crossbar(a1), Crossbar(a2, r_row=0.0, r_col=0.0, r_contact=0.0)
    rows, cols = [0.2, None, 0.0, None, 0.1, 0.2], [0.0, None, 0.0, 0.0, None]
    np.testing.assert_array_equal(ideal.read(rows, cols)[0], wired0.read(rows, cols)[0])
    ideal.pulse([1.6, None, 0.8, 0.8, 0.8, 0.8], [0.0, 0.8, 0.8, None, 0.8], 1e-6)
    wired0.pulse([1.6, None, 0.8, 0.8, 0.8, 0.8], [0.0, 0.8, 0.8, None, 0.8], 1e-6)
    np.testing.assert_array_equal(np.asarray(a1.gap), np.asarray(a2.gap))


def test_nodal_solver_with_zero_resistance_equals_the_ideal_kcl():
    """The network code path itself, with every resistance 0, reproduces the ideal floating-line KCL (to both
    solvers' KCL tolerance, 1e-11 of the largest current; the Crossbar keeps the ideal path itself at 0 ohm)."""
    shape = (6, 7)
    a = rram(shape, seed=5)
    pref = np.asarray(a.prefactor()).reshape(shape)
    vr = np.array([0.2, 0.0, 0.0, 0.1, 0.0, 0.3])
    vc = np.array([0.0, 0.0, 0.05, 0.0, 0.0, 0.0, 0.0])
    fr = np.array([False, True, False, True, True, False])
    fc = np.array([False, True, False, False, True, True, False])
    r_ideal, c_ideal, _ = solve_floating(pref, STANFORD_V1.V0, vr, vc, fr, fc)
    sol = NodalNetwork(shape, Wires(), fr, fc).solve(SinhLaw(pref.ravel(), STANFORD_V1.V0), vr, vc)
    np.testing.assert_allclose(sol.cell_voltages, np.subtract.outer(r_ideal, c_ideal), rtol=0, atol=1e-10)
    # and a crossbar over ohmic cells with zero resistance is the plain conductance network
    g = np.random.default_rng(0).uniform(1e-6, 1e-4, shape)
    ri, _ci = Crossbar(OhmicArray(g)).read(list(vr), list(vc))
    np.testing.assert_allclose(ri, (g * np.subtract.outer(vr, vc)).sum(1), rtol=1e-12)


def test_energy_balance_power_delivered_equals_power_dissipated():
    shape, r, rc = (12, 9), 2.5, 4.0
    a = rram(shape, seed=2)
    xb = Crossbar(a, r_row=r, r_col=r * 1.5, r_contact=rc)
    rows = [0.25, None, 0.0, 0.1, None, 0.25, 0.0, 0.0, 0.2, None, 0.0, 0.3]
    cols = [0.0, 0.05, None, 0.0, 0.0, None, 0.1, 0.0, 0.0]
    ri, ci = xb.read(rows, cols, 0.0)
    sol = xb.last_solution
    assert sol is not None
    vr = np.array([0.0 if v is None else v for v in rows])
    vc = np.array([0.0 if v is None else v for v in cols])
    delivered = float((vr * ri).sum() + (vc * ci).sum())
    vcell = sol.cell_voltages
    cells = float((np.asarray(a.current(vcell)) * vcell).sum())
    wires = float((np.diff(sol.top, axis=1) ** 2).sum() / r + (np.diff(sol.bottom, axis=0) ** 2).sum() / (r * 1.5))
    dr, dc = np.array([v is not None for v in rows]), np.array([v is not None for v in cols])
    contacts = float((((vr - sol.top[:, 0]) ** 2)[dr]).sum() + (((vc - sol.bottom[-1, :]) ** 2)[dc]).sum()) / rc
    assert delivered == pytest.approx(cells + wires + contacts, rel=1e-9)
    assert wires + contacts > 1e-6 * delivered  # the wires do dissipate


def _all_rows_read(n, r, g_on=1e-3):
    g = np.full((n, n), g_on)
    xb = Crossbar(OhmicArray(g), r_row=r, r_col=r, r_contact=r)
    _, ci = xb.read([0.2] * n, [0.0] * n)
    return -ci / (0.2 * g_on * n), xb.last_solution


def test_output_currents_fall_with_array_size_and_wire_resistance():
    by_size = [float(_all_rows_read(n, 2.5)[0].mean()) for n in (4, 8, 16, 32, 64)]
    assert all(b < a for a, b in itertools.pairwise(by_size)), by_size
    assert by_size[0] > 0.95
    assert by_size[-1] < 0.5
    by_r = [float(_all_rows_read(16, r)[0].mean()) for r in (0.1, 1.0, 10.0)]
    assert by_r[0] > by_r[1] > by_r[2]


def test_far_cells_see_the_lowest_voltage():
    shape = (32, 24)
    a = rram(shape, gap=STANFORD_V1.gap_min)
    v = Crossbar(a, r_row=2.5, r_col=2.5, r_contact=2.5).cell_voltages([0.2] * 32, [0.0] * 24)
    assert np.unravel_index(np.argmin(v), v.shape) == (0, 23)  # far from the row feeds and the column feeds
    assert np.unravel_index(np.argmax(v), v.shape) == (31, 0)
    assert v.max() < 0.2
    assert v.min() < 0.5 * v.max()


@pytest.mark.parametrize("third", [False, True])
def test_half_select_is_below_half_the_voltage_far_from_the_drivers(third):
    n, vw = 32, 1.2
    a = rram((n, n), gap=STANFORD_V1.gap_min)
    sel_r, sel_c = 0, n - 1  # the farthest cell
    rows = [vw / 3 if third else vw / 2] * n
    cols = [2 * vw / 3 if third else vw / 2] * n
    rows[sel_r], cols[sel_c] = vw, 0.0
    ideal = Crossbar(rram((n, n), gap=STANFORD_V1.gap_min)).cell_voltages(rows, cols)
    v = Crossbar(a, r_row=2.5, r_col=2.5, r_contact=2.5).cell_voltages(rows, cols)
    half = vw / 3 if third else vw / 2
    assert ideal[sel_r, sel_c] == pytest.approx(vw)
    assert np.abs(ideal[sel_r, :sel_c]).max() == pytest.approx(half)
    assert v[sel_r, sel_c] < ideal[sel_r, sel_c]
    assert abs(v[sel_r, sel_c - 1]) < half  # half-selected, next to the selected cell, far from the row feed
    assert abs(v[sel_r + 1, sel_c]) < half  # half-selected on the selected column, far from its feed


def test_pulse_dynamics_see_the_ir_drop():
    """A RESET of the farthest cell in an LRS array: the IR drop leaves it less reset than on ideal lines."""
    n = 16
    out = []
    for r in (0.0, 0.2):
        a = rram((n, n), gap=STANFORD_V1.gap_min)
        xb = Crossbar(a, r_row=r, r_col=r, r_contact=r)
        rows, cols = [-0.6] * n, [-0.6] * n
        rows[0], cols[n - 1] = -1.25, 0.0
        xb.pulse(rows, cols, 1e-6)
        out.append((float(np.asarray(a.gap)[0, n - 1]), float(xb.peak_pulse_voltage[0, n - 1])))
    (g_ideal, v_ideal), (g_wired, v_wired) = out
    assert v_ideal == pytest.approx(1.25)
    assert v_wired < v_ideal
    assert STANFORD_V1.gap_min < g_wired < g_ideal


def test_solve_crossbar_pure_function_and_validation():
    g = np.full((3, 4), 1e-4)
    sol = solve_crossbar(g, [0.1, 0.1, None], [0.0] * 4, r_row=1.0, r_col=1.0, r_contact=1.0)
    assert sol.cell_voltages.shape == (3, 4)
    assert abs(sol.row_currents[2]) < 1e-15
    with pytest.raises(ConfigError, match="r_row"):
        Crossbar(OhmicArray(g), r_row=-1.0)
    with pytest.raises(ConfigError, match="r_contact"):
        Crossbar(OhmicArray(g), r_contact=float("nan"))
    with pytest.raises(ConfigError, match="g"):
        OhmicArray(np.full((2, 2), -1.0))


def test_a_new_line_condition_starts_from_the_nearest_solution_shifted_and_solves_the_same():
    """A pulse level the network has not seen starts from the nearest earlier solution of its topology, every
    node moved by its line's change of level: the same solution (to the solver's tolerance) in fewer steps than
    from the last solution (a read) or from scratch."""
    n = 24
    a = rram((n, n), seed=5)
    xb = Crossbar(a, r_row=2.5, r_col=2.5, r_contact=5.0)

    def pulse(v):  # V/2 scheme: row 3 at v, column 7 grounded, every other line at v/2
        rows, cols = [v / 2] * n, [v / 2] * n
        rows[3], cols[7] = v, 0.0
        return rows, cols

    xb.cell_voltages(*pulse(1.9))
    xb.read([0.1] * n, [0.0] * n, 0.0)  # the network's last solution is now a read
    warm = xb.cell_voltages(*pulse(2.0))
    law = SinhLaw(np.asarray(a.prefactor(), np.float64), STANFORD_V1.V0)
    net = NodalNetwork((n, n), Wires(2.5, 2.5, 5.0), np.zeros(n, bool), np.zeros(n, bool))
    r0, c0 = (np.array(x) for x in pulse(1.9))
    r1, c1 = (np.array(x) for x in pulse(2.0))
    before = net.solve(law, r0, c0)
    read = net.solve(law, np.full(n, 0.1), np.zeros(n))
    cold = net.solve(law, r1, c1)
    from_read = net.solve(law, r1, c1, start=read.free)
    shifted = net.solve(law, r1, c1, start=net.shifted(before.free, r0, c0, r1, c1))
    for sol in (from_read, shifted):
        np.testing.assert_allclose(sol.cell_voltages, cold.cell_voltages, rtol=0, atol=1e-9)
    np.testing.assert_allclose(warm, cold.cell_voltages, rtol=0, atol=1e-9)  # the crossbar's own choice
    assert shifted.iterations < min(from_read.iterations, cold.iterations)
    assert abs(cold.cell_voltages[3, 7]) < 2.0 - 1e-3  # the wires drop part of the pulse: a real network
