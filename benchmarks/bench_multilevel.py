"""Benchmark: multi-level programming with generator pulses, a whole array to 8 levels between 10 and 100 µS.

Full stack: ``labctl.jobs.run_protocol`` -> ``configs/sim_bench_generator.yaml`` (B2902 + 33522B + B2201A matrices
-> pyvisa -> TCP -> simulators -> physics) -> SQLite journal, with the parameters of
``configs/protocols/program_multilevel.yaml`` (erase, SET on the SMU, coarse RESET on the SMU, fine 50 ns RESET
from the generator, verify reads on the SMU). In the same run, the SMU-only path on the same chip: the ``program``
defaults (every pulse 50 µs on the B2902, RESET amplitude bisection), unless ``--paths generator``.

Prints, per path: the fraction of cells whose final conductance is within 1 µS + 3 % of the target (goal >= 99.5 %
with generator pulses), pulses per cell (mean, p90), the spread of each level, wall time and the bench time the
timing model estimates for real instruments; and the ratios between the paths. ``--write-readme`` rewrites the
README block ``figures:multilevel``.

    .venv/bin/python benchmarks/bench_multilevel.py [--size 64] [--paths generator,smu] [--sim process|thread]
        [--timeout S] [--write-readme]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import save

from labctl.analysis import level_stats, program_stats, pulses_per_cell
from labctl.bench import CONFIGS, SimProcess, open_bench
from labctl.core.config import parse_bench_config
from labctl.jobs.protocol_run import run_protocol
from labctl.store import RunStore

MULTILEVEL = CONFIGS / "protocols" / "program_multilevel.yaml"
GOAL = 0.995


def path_params(path: str, size: int, seed: int) -> dict[str, Any]:
    """The parameters of one path: generator (the multi-level file) or smu (the program defaults, 50 µs)."""
    common = {"random_levels": 8, "level_min": 10e-6, "level_max": 100e-6, "seed": seed, "shape": [size, size]}
    if path == "generator":
        return {**yaml.safe_load(MULTILEVEL.read_text()), **common}
    return common


async def run_path(path: str, args: argparse.Namespace, root: Path) -> dict[str, Any]:
    data = yaml.safe_load((CONFIGS / "sim_bench_generator.yaml").read_text())
    data["crossbars"]["xbar0"].update(rows=args.size, cols=args.size)
    for inst in data["instruments"].values():  # a simulator starved of CPU (a loaded host) must not time out
        inst["timeout"] = max(float(inst.get("timeout", 2.0)), args.timeout)
    cfg = parse_bench_config(data)
    params = path_params(path, args.size, args.seed)
    store = root / path
    if args.sim == "thread":
        async with open_bench(cfg) as bench:
            b0, t0 = bench.estimated_bench_seconds(), time.perf_counter()
            res = await run_protocol(None, "program", params, store_root=store, bench=bench)
            wall, bench_s = time.perf_counter() - t0, bench.estimated_bench_seconds() - b0
    else:  # the simulator in a child process (labctl sim serve), opened as a real bench would be
        with SimProcess(cfg) as proc:
            async with open_bench(proc.served_config()) as bench:
                b0, t0 = proc.now(), time.perf_counter()
                res = await run_protocol(None, "program", params, store_root=store, bench=bench)
                wall, bench_s = time.perf_counter() - t0, proc.now() - b0
    rs = RunStore(store)
    ev, outs = rs.event_arrays(str(res.run_id)), list(rs.outcomes(str(res.run_id)).values())
    st = program_stats(ev, outs)
    levels = level_stats(outs, 1e-6, 0.03, pulses_per_cell(ev))
    within = sum(lv.within for lv in levels)
    return {"path": path, "cells": st.cells, "converged": st.converged, "within": within,
            "within_fraction": within / st.cells if st.cells else float("nan"),
            "pulses_per_cell": st.pulses_per_cell, "pulses_total": st.pulses_total, "reads_total": st.reads_total,
            "levels": [lv.to_dict() for lv in levels], "wall_s": wall, "bench_s": bench_s}


def markdown(runs: list[dict[str, Any]], size: int) -> str:
    label = {"generator": "SMU SET + 50 ns generator RESET", "smu": "SMU only, 50 µs pulses"}
    out = [f"Multi-level programming, {size}x{size} array, 8 levels 10-100 µS, tolerance 1 µS + 3 % "
           f"(`benchmarks/bench_multilevel.py`, full stack, simulated bench `configs/sim_bench_generator.yaml`):", "",
           "| path | cells within tolerance | pulses/cell mean | p90 | widest level std | wall | modelled bench time |",
           "|---|---|---|---|---|---|---|"]
    for r in runs:
        q = r["pulses_per_cell"]
        widest = max((lv["std"] for lv in r["levels"]), default=float("nan"))
        out.append(f"| {label[r['path']]} | {100 * r['within_fraction']:.2f} % ({r['within']}/{r['cells']}) | "
                   f"{q['mean']:.1f} | {q['p90']:.0f} | {1e6 * widest:.2f} µS | {r['wall_s']:.0f} s | "
                   f"{r['bench_s']:.0f} s ({1e3 * r['bench_s'] / r['cells']:.0f} ms/cell) |")
    gen = next((r for r in runs if r["path"] == "generator"), None)
    if gen is not None:
        out += ["", "| level (generator path) | within tolerance | mean | std | pulses/cell |", "|---|---|---|---|---|"]
        for lv in gen["levels"]:
            out.append(f"| {1e6 * lv['target']:.1f} µS | {100 * lv['within_fraction']:.1f} % | "
                       f"{1e6 * lv['mean']:.2f} µS | {1e6 * lv['std']:.2f} µS | {lv['pulses_mean']:.1f} |")
    return "\n".join(out)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=64, help="array rows = columns (default 64)")
    ap.add_argument("--paths", default="generator,smu", help="comma-separated: generator, smu (default both)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the random levels")
    ap.add_argument("--sim", choices=["process", "thread"], default="process")
    ap.add_argument("--timeout", type=float, default=30.0, help="I/O timeout of every instrument, s (default 30)")
    ap.add_argument("--write-readme", action="store_true", help="rewrite the README block figures:multilevel")
    args = ap.parse_args()
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    if not paths or any(p not in ("generator", "smu") for p in paths):
        ap.error(f"--paths {args.paths!r}: a comma-separated list of 'generator' and 'smu'")
    print(f"{datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')}, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs")
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths:
            r = await run_path(path, args, Path(tmp))
            runs.append(r)
            q = r["pulses_per_cell"]
            print(f"[{path}] {args.size}x{args.size}: within tolerance {r['within']}/{r['cells']} = "
                  f"{100 * r['within_fraction']:.2f} % (goal >= {100 * GOAL:.1f} % with generator pulses); converged "
                  f"{r['converged']}; pulses/cell mean {q['mean']:.1f} p90 {q['p90']:.0f} max {q['max']:.0f}; "
                  f"wall {r['wall_s']:.1f} s; modelled bench {r['bench_s']:.1f} s")
            for lv in r["levels"]:
                print(f"    level {1e6 * lv['target']:6.1f} uS: {lv['within']}/{lv['cells']} within, mean "
                      f"{1e6 * lv['mean']:.2f} std {1e6 * lv['std']:.2f} uS, pulses/cell {lv['pulses_mean']:.1f}")
    if len(runs) == 2:
        g, s = runs
        print(f"generator vs SMU-only: within tolerance {100 * g['within_fraction']:.2f} % vs "
              f"{100 * s['within_fraction']:.2f} %; pulses/cell {g['pulses_per_cell']['mean']:.1f} vs "
              f"{s['pulses_per_cell']['mean']:.1f}; wall {g['wall_s'] / s['wall_s']:.2f}x; modelled bench time "
              f"{g['bench_s'] / s['bench_s']:.2f}x")
    print(f"load average at the end {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    save("multilevel", {"size": args.size, "runs": runs}, markdown(runs, args.size), write_readme=args.write_readme)


if __name__ == "__main__":
    asyncio.run(main())
