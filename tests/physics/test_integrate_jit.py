"""The compiled integrator (``_integrate_jit``) against the vectorised loop it replaces on NumPy cells."""

from __future__ import annotations

import numpy as np
import pytest

from sim_instruments.physics import _integrate
from sim_instruments.physics._backend import NumpyBackend
from sim_instruments.physics._cells import CellParams
from sim_instruments.physics._integrate_jit import AVAILABLE
from sim_instruments.physics.params import StanfordParams

P = StanfordParams()
XP = NumpyBackend()

pytestmark = pytest.mark.skipif(not AVAILABLE, reason="numba missing or LABCTL_SIM_JIT=0")


def _both(monkeypatch: pytest.MonkeyPatch, *args: object) -> tuple[np.ndarray, np.ndarray]:
    monkeypatch.setattr(_integrate, "_COMPILED", False)
    loop = _integrate.advance(*args)
    monkeypatch.setattr(_integrate, "_COMPILED", True)
    compiled = _integrate.advance(*args)
    return loop, compiled


@pytest.mark.parametrize("heating", [True, False])
@pytest.mark.parametrize("spread", [False, True])
@pytest.mark.parametrize("limited", [False, True])
def test_the_compiled_integrator_gives_the_vectorised_states(monkeypatch, heating, spread, limited):
    """SET and RESET cells, below and above the gate, with and without compliance, self-heating and per-cell
    constants: every new state is the vectorised loop's, but for the last bits of the elementary functions (libm's
    exp/sinh against NumPy's SIMD ones: a relative 1e-12 allows a few ulps carried through a pulse)."""
    rng = np.random.default_rng(7)
    n = 300
    kw = {"I0": P.I0 * rng.uniform(0.9, 1.1, n), "g0": P.g0 * rng.uniform(0.95, 1.05, n),
          "v0": P.v0 * rng.uniform(0.8, 1.2, n)} if spread else {}
    cp = CellParams.from_params(P, **kw)
    object.__setattr__(cp, "heating", heating)
    x = rng.uniform(P.gap_min, P.gap_max, n)
    v = rng.choice([1.6, 1.3, 0.8, -0.6, -1.3, -1.8], n) * rng.uniform(0.9, 1.1, n)
    icc = rng.uniform(2e-5, 1e-3, n) if limited else None
    for tau, dg in ((50e-6, 1e-11), (20e-9, 1e-12), (1e-3, 5e-11)):
        loop, compiled = _both(monkeypatch, cp, XP, x, v, np.full(n, tau), dg, icc)
        np.testing.assert_allclose(compiled, loop, rtol=1e-12, atol=0)
        assert np.mean(compiled == loop) > 0.9  # most cells exactly: the same substeps, sums and interpolation
        assert np.any(compiled != x)  # something switched: the comparison covers the marching, not only the gate


def test_a_large_array_takes_the_capped_blocks_of_the_vectorised_loop(monkeypatch):
    """With many cells marching the vectorised loop caps its blocks (cells x substeps); the compiled one follows."""
    rng = np.random.default_rng(8)
    n = 6000
    cp = CellParams.from_params(P)
    x = rng.uniform(P.gap_min, P.gap_max, n)
    v = rng.choice([1.5, -1.5], n)
    loop, compiled = _both(monkeypatch, cp, XP, x, v, np.full(n, 1e-4), 2e-12, None)
    np.testing.assert_allclose(compiled, loop, rtol=1e-12, atol=0)


def test_windup_and_closed_gates_are_left_to_the_vectorised_loop(monkeypatch):
    """strict_v1 windup runs the vectorised loop (the compiled one does not implement it); cells whose gates are
    all closed come back unchanged either way."""
    strict = StanfordParams(strict_v1=True)
    cp = CellParams.from_params(strict)
    x = np.array([strict.gap_min * 0.5, 1e-9, strict.gap_max * 1.2])
    v = np.array([1.5, -1.5, 1.4])
    loop, compiled = _both(monkeypatch, cp, XP, x, v, np.full(3, 1e-5), 1e-11, None)
    np.testing.assert_array_equal(compiled, loop)
    cp = CellParams.from_params(P)
    x = np.full(4, 1e-9)
    loop, compiled = _both(monkeypatch, cp, XP, x, np.full(4, 0.05), np.full(4, 1e-3), 1e-11, None)
    np.testing.assert_array_equal(compiled, x)
    np.testing.assert_array_equal(loop, x)


def test_the_warm_up_compiles_the_signature_that_holds_use(monkeypatch):
    """After ``warm_up`` a hold (limited or not, inputs read-only or strided) compiles nothing more: the first pulse
    an instrument answers does not wait for numba."""
    from sim_instruments.physics import _integrate_jit

    monkeypatch.setattr(_integrate_jit, "_warm", False)
    assert _integrate_jit.warm_up()
    before = len(_integrate_jit.advance_cells.signatures)
    cp = CellParams.from_params(P)
    x = np.linspace(P.gap_min, P.gap_max, 8)
    v = np.repeat([1.5, -1.5], 8)[::2]  # strided
    tau = np.full(8, 1e-6)
    tau.setflags(write=False)  # read-only
    for icc in (None, np.full(8, 2e-4)):
        _integrate.advance(cp, XP, x, v, tau, 1e-11, icc)
    assert len(_integrate_jit.advance_cells.signatures) == before
