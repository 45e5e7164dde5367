"""IR-drop solver benchmark (on demand, not part of the test suite): ``.venv/bin/python benchmarks/bench_ir.py``.

(a) 256x256 array, all 256 rows driven (0.2 V read, columns at 0 V), 2.5 ohm per segment and at each pad:
    ``Crossbar.read`` with the non-linear Stanford/PKU cells (Newton on the full nodal network, from scratch:
    network built, no warm start) against badcrossbar's linear solve of the same network (ohmic cells at the
    same small-signal conductances), both timed in this run. Goal: >= 3x faster than badcrossbar.
(b) 64x64 reads with wire resistance (2.5 ohm segments, 5 ohm contacts, the realistic bench): one row driven
    (a map read as the bench does it) and all rows driven (inference), each after the cell states changed (no
    cached solution): cold (first read of a line condition: network built) and steady (network reused, warm
    start). Goal: <= 20 ms.
Prints the date and the load average (the machine is shared: compare ratios, not absolute times).
``--write-readme`` saves ``benchmarks/results/ir.json`` and rewrites the README block ``ir``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import save

from sim_instruments import Crossbar, RRAMArray
from sim_instruments.presets import STANFORD_V1

P = STANFORD_V1


def timed(fn: Callable[[], object], reps: int) -> float:
    """Median wall time of ``reps`` calls, s."""
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return float(np.median(out))


def array(n: int, seed: int) -> RRAMArray:
    a = RRAMArray((n, n), P, seed=seed)
    a.gap = np.random.default_rng(seed).uniform(P.gap_min, P.gap_max, (n, n))
    return a


def big(reps: int) -> dict[str, Any]:
    n, r = 256, 2.5
    a = array(n, 1)
    rows, cols = [0.2] * n, [0.0] * n

    def ours() -> object:
        return Crossbar(a, r_row=r, r_col=r, r_contact=r).read(rows, cols, 0.0)

    t_ours = timed(ours, reps)
    g_ss = np.asarray(a.prefactor()).reshape(n, n) / P.V0  # small-signal conductances, S
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import logging

            import badcrossbar
            logging.getLogger().setLevel(logging.WARNING)
        except ImportError:
            print("(a) badcrossbar is not installed (scripts/bootstrap.sh installs it): no baseline")
            print(f"    ours: {1e3 * t_ours:.0f} ms")
            return {"ours_s": t_ours, "badcrossbar_s": None}
        t_bc = timed(lambda: badcrossbar.compute(np.full((n, 1), 0.2), 1.0 / g_ss, r_i=r), max(1, reps))
    xb = Crossbar(a, r_row=r, r_col=r, r_contact=r)
    xb.read(rows, cols, 0.0)
    sol = xb.last_solution
    assert sol is not None
    print(f"(a) 256x256, all rows driven, 2.5 ohm: ours (non-linear, Newton {sol.iterations} steps) "
          f"{1e3 * t_ours:.0f} ms, badcrossbar (linear) {1e3 * t_bc:.0f} ms: {t_bc / t_ours:.2f}x faster "
          f"(goal >= 3x); cell voltages {sol.cell_voltages.min():.4f}..{sol.cell_voltages.max():.4f} V")
    return {"ours_s": t_ours, "badcrossbar_s": t_bc, "newton_steps": sol.iterations}


def small(reps: int) -> dict[str, dict[str, float]]:
    n = 64
    out = {}
    for label, rows in (("one row driven", [0.2] + [0.0] * (n - 1)), ("all rows driven", [0.2] * n)):
        cols = [0.0] * n
        a = array(n, 2)
        rng = np.random.default_rng(3)

        def perturb(arr: RRAMArray = a, gen: np.random.Generator = rng) -> None:
            arr.gap = np.clip(np.asarray(arr.gap) + gen.normal(0, 2e-12, (n, n)), P.gap_min, P.gap_max)

        def cold(arr: RRAMArray = a, rr: list[float] = rows, cc: list[float] = cols) -> object:
            return Crossbar(arr, r_row=2.5, r_col=2.5, r_contact=5.0).read(rr, cc, 0.0)

        t_cold = timed(cold, reps)
        xb = Crossbar(a, r_row=2.5, r_col=2.5, r_contact=5.0)
        xb.read(rows, cols, 0.0)
        steady = []
        for _ in range(reps):
            perturb()
            t = time.perf_counter()
            xb.read(rows, cols, 0.0)
            steady.append(time.perf_counter() - t)
        ideal = Crossbar(a)
        t_ideal = timed(lambda x=ideal, rr=rows, cc=cols: x.read(rr, cc, 0.0), reps)  # type: ignore[misc]
        t_st = float(np.median(steady))
        print(f"(b) 64x64 read, {label}: cold {1e3 * t_cold:.1f} ms, steady (state changed, warm start) "
              f"{1e3 * t_st:.1f} ms (goal <= 20 ms); ideal lines {1e3 * t_ideal:.2f} ms ({t_st / t_ideal:.0f}x)")
        out[label] = {"cold_s": t_cold, "steady_s": t_st, "ideal_s": t_ideal}
    return out


def markdown(b: dict[str, Any], s: dict[str, dict[str, float]], reps: int) -> str:
    one, every = s["one row driven"], s["all rows driven"]
    bc = b["badcrossbar_s"]
    base = (f"badcrossbar's linear solve {bc:.2f} s (**{bc / b['ours_s']:.2f}x** faster; goal 3x)" if bc
            else "badcrossbar not installed")
    return "\n".join([
        "| IR-drop solve | time | against |", "|---|---|---|",
        f"| 256x256, all rows driven, non-linear cells, 2.5 ohm lines | {b['ours_s']:.2f} s | {base} |",
        f"| 64x64 read after a state change, one row / all rows driven | {1e3 * one['steady_s']:.1f} / "
        f"{1e3 * every['steady_s']:.1f} ms | goal 20 ms; first read of a new line topology "
        f"{1e3 * one['cold_s']:.0f} / {1e3 * every['cold_s']:.0f} ms |",
        "", f"Medians of {reps} (256x256) and {max(reps, 5)} (64x64) solves, same run."])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3, help="repetitions (median)")
    ap.add_argument("--write-readme", action="store_true", help="save results and rewrite the README block")
    a = ap.parse_args()
    print(f"bench_ir {datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')}, "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    b = big(a.reps)
    s = small(max(a.reps, 5))
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    md = markdown(b, s, a.reps)
    print(md)
    save("ir", {"big": b, "small": s}, md, write_readme=a.write_readme)


if __name__ == "__main__":
    main()
