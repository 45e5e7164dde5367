"""Physics benchmark (on demand, not part of the test suite): ``.venv/bin/python benchmarks/bench_physics.py``.

(a) Kernel throughput: cell-steps/s of one substep (gap velocity + Euler update + clamp) over a 256x256 array,
    for the fused kernels of each backend vs a plain unfused NumPy implementation of the same equations.
(b) Time to solution: 256x256 cells, random gaps and voltages, one 100 ns pulse, every cell within 0.1 % of a
    fine-step reference; RRAMArray (Δg-limited per-cell clock) vs fixed-step vectorised Euler at the largest
    step that reaches the same accuracy.
Every figure is printed next to its baseline measured in the same run, as a ratio.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from sim_instruments import RRAMArray
from sim_instruments.physics.params import K_B, Q_E
from sim_instruments.presets import STANFORD_V1

P = STANFORD_V1
N_SIDE = 256


def plain_substep(g: Any, v: Any, dt: float) -> Any:
    """The equations written out directly, as a first NumPy port would (unfused, np.power, temporaries)."""
    i = P.I0 * np.exp(-g / P.g0) * np.sinh(v / P.V0)
    temp = P.T0 + np.abs(v * i) * P.Rth
    gamma = np.where(v >= 0, P.gamma0_set, P.gamma0_reset) - np.where(v >= 0, P.beta_set, P.beta_reset) * np.power(
        g / P.g1, P.alpha)
    gamma = np.where(gamma * np.abs(v) / P.tox < P.F_min, 0.0, gamma)
    rate = -P.v0 * np.exp(-Q_E * P.Ea / (K_B * temp)) * np.sinh(gamma * P.a0 / P.tox * Q_E * v / (K_B * temp))
    return np.clip(g + rate * dt, P.gap_min, P.gap_max)


class FusedNumpy:
    """Per-pulse constants hoisted (sinh(V/V0), heat factor, γ0/β by polarity), α=3 as a cube, in-place buffers."""

    def __init__(self, v: Any) -> None:
        self.v = v
        self.absv = np.abs(v)
        self.heat = self.absv * P.I0 * np.abs(np.sinh(v / P.V0)) * P.Rth
        self.gam0 = np.where(v >= 0, P.gamma0_set, P.gamma0_reset)
        self.bet = np.where(v >= 0, P.beta_set, P.beta_reset) / P.g1**3
        self.cv = (P.a0 / P.tox * Q_E / K_B) * v
        self.thr = P.F_min * P.tox / np.maximum(self.absv, 1e-300)
        self.b1, self.b2, self.b3 = (np.empty_like(v) for _ in range(3))

    def __call__(self, g: Any, dt: float) -> Any:
        b1, b2, b3 = self.b1, self.b2, self.b3
        np.multiply(g, -1.0 / P.g0, out=b1)
        np.exp(b1, out=b1)
        np.multiply(b1, self.heat, out=b1)
        np.add(b1, P.T0, out=b1)
        np.reciprocal(b1, out=b1)  # 1/T
        np.multiply(g, g, out=b2)
        np.multiply(b2, g, out=b2)
        np.multiply(b2, self.bet, out=b2)
        np.subtract(self.gam0, b2, out=b2)  # gamma
        gate = b2 >= self.thr
        np.multiply(b2, self.cv, out=b3)
        np.multiply(b3, b1, out=b3)
        np.sinh(b3, out=b3)
        np.multiply(b1, -Q_E * P.Ea / K_B, out=b1)
        np.exp(b1, out=b1)
        np.multiply(b1, b3, out=b1)
        np.multiply(b1, -P.v0 * dt, out=b1)
        b1 *= gate
        np.add(g, b1, out=b1)
        return np.clip(b1, P.gap_min, P.gap_max, out=b1)


def torch_substep_factory(v_np: Any, compiled: bool) -> Callable[[Any, float], Any] | None:
    try:
        import torch
    except ImportError:
        return None
    v = torch.as_tensor(v_np)
    absv = v.abs()
    heat = absv * P.I0 * torch.sinh(v / P.V0).abs() * P.Rth
    gam0 = torch.where(v >= 0, P.gamma0_set, P.gamma0_reset)
    bet = torch.where(v >= 0, P.beta_set, P.beta_reset) / P.g1**3
    cv = (P.a0 / P.tox * Q_E / K_B) * v
    thr = P.F_min * P.tox / absv.clamp_min(1e-300)

    def step(g: Any, dt: float) -> Any:
        inv_t = 1.0 / (P.T0 + heat * torch.exp(g * (-1.0 / P.g0)))
        gam = gam0 - bet * g * g * g
        r = torch.exp(inv_t * (-Q_E * P.Ea / K_B)) * torch.sinh(gam * cv * inv_t) * (-P.v0 * dt)
        return (g + torch.where(gam >= thr, r, 0.0)).clamp(P.gap_min, P.gap_max)

    if not compiled:
        return step
    try:
        fn = torch.compile(step, dynamic=False)
        g = torch.full_like(v, 1e-9)
        fn(g, 1e-12)
        return fn  # type: ignore[no-any-return]
    except Exception as exc:  # inductor needs a working C++ toolchain
        print(f"   torch.compile unavailable: {type(exc).__name__}: {str(exc)[:120]}")
        return None


def timeit(fn: Callable[[], Any], repeat: int) -> float:
    fn()
    best = math.inf
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - t) / repeat)
    return best


def bench_kernel(repeat: int, with_compile: bool) -> None:
    rng = np.random.default_rng(0)
    n = N_SIDE * N_SIDE
    g = rng.uniform(P.gap_min, P.gap_max, n)
    v = rng.uniform(-2.0, 2.0, n)
    dt = 1e-12
    t_plain = timeit(lambda: plain_substep(g, v, dt), repeat)
    fused = FusedNumpy(v)
    np.testing.assert_allclose(fused(g, dt), plain_substep(g, v, dt), rtol=1e-12, atol=1e-24)
    t_fused = timeit(lambda: fused(g, dt), repeat)
    print(f"(a) one substep over {N_SIDE}x{N_SIDE} (float64, CPU; no GPU was lent this session)")
    print(f"   plain unfused NumPy   : {n / t_plain:10.3e} cell-steps/s  (baseline)")
    print(f"   fused NumPy           : {n / t_fused:10.3e} cell-steps/s  ratio {t_plain / t_fused:5.2f}x")
    try:
        import torch
    except ImportError:
        print("   torch not installed")
        return
    gt = torch.as_tensor(g)
    for label, compiled in (("torch eager (CPU)", False), ("torch.compile (CPU)", True)):
        if compiled and not with_compile:
            continue
        fn = torch_substep_factory(v, compiled)
        if fn is None:
            continue
        out = fn(gt, dt).numpy()
        np.testing.assert_allclose(out, plain_substep(g, v, dt), rtol=1e-9, atol=1e-22)
        t = timeit(lambda f=fn: f(gt, dt), repeat)
        print(f"   {label:22s}: {n / t:10.3e} cell-steps/s  ratio {t_plain / t:5.2f}x"
              f"  (threads {torch.get_num_threads()})")


def euler_fixed(g0: Any, v: Any, width: float, dt: float) -> Any:
    fused = FusedNumpy(v)
    g = g0.copy()
    steps = round(width / dt)
    for _ in range(steps):
        g = fused(g, dt).copy()
    return g


def bench_time_to_solution(v_max: float) -> None:
    rng = np.random.default_rng(1)
    shape = (N_SIDE, N_SIDE)
    g0 = rng.uniform(P.gap_min, P.gap_max, shape)
    v = rng.uniform(-v_max, v_max, shape)
    width = 100e-9

    def ours(dg: float) -> tuple[Any, float]:
        a = RRAMArray(shape, P, dg_max=dg)
        a.gap = g0
        t = time.perf_counter()
        a.apply(v, width)
        return np.asarray(a.gap), time.perf_counter() - t

    ref, t_ref = ours(2e-14)
    ref2, _ = ours(1e-13)
    print(f"(b) {N_SIDE}x{N_SIDE}, random gaps, voltages U(-{v_max}, {v_max}) V, one 100 ns pulse (CPU)")
    print(f"   fine reference: per-cell-clock integrator at dg_max 2e-14 m ({t_ref:.2f} s); "
          f"max rel. diff to dg_max 1e-13: {np.max(np.abs(ref2 - ref) / ref):.1e}")
    moving = np.mean(np.abs(ref - g0) > 1e-15)
    print(f"   cells that move during the pulse: {moving:.1%}")

    def err(g: Any) -> float:
        return float(np.max(np.abs(g - ref) / ref))

    for dg in (1e-12, 1e-11):
        g, t = ours(dg)
        if err(g) <= 1e-3:
            t_ours, dg_ours, e_ours = t, dg, err(g)
    g, t_ours = ours(dg_ours)
    print(f"   per-cell clock, dg_max {dg_ours:.0e} m: {t_ours * 1e3:8.1f} ms, max rel. error {e_ours:.1e}")
    chosen = None
    for dt in (1e-9, 3e-10, 1e-10, 3e-11, 1e-11, 3e-12, 1e-12):
        sample = slice(0, 16)  # accuracy scan on 16 rows first (cheap), then timed on the full array
        e = err_rows(euler_fixed(g0[sample], v[sample], width, dt), ref[sample])
        print(f"   fixed-step Euler dt {dt:.0e} s: max rel. error on 16 rows {e:.1e}")
        if e <= 1e-3:
            chosen = dt
            break
    if chosen is None:
        print("   fixed-step Euler did not reach 0.1 % down to dt = 1e-12 s")
        return
    t = time.perf_counter()
    g_e = euler_fixed(g0, v, width, chosen)
    t_euler = time.perf_counter() - t
    print(f"   fixed-step Euler dt {chosen:.0e} s (full array): {t_euler * 1e3:8.1f} ms, max rel. error "
          f"{err(g_e):.1e}  (baseline)")
    bound = "" if err(g_e) <= 1e-3 else "  (Euler still above 0.1 % on the full array: a lower bound)"
    print(f"   time-to-solution ratio: {t_euler / t_ours:6.1f}x{bound}")


def err_rows(g: Any, ref: Any) -> float:
    return float(np.max(np.abs(g - ref) / ref))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--vmax", type=float, default=1.6, help="voltage range for (b), V")
    ap.add_argument("--no-compile", action="store_true", help="skip torch.compile in (a)")
    ap.add_argument("--skip-b", action="store_true")
    args = ap.parse_args()
    bench_kernel(args.repeat, not args.no_compile)
    if not args.skip_b:
        bench_time_to_solution(args.vmax)


if __name__ == "__main__":
    main()
