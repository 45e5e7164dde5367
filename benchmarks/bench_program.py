"""Benchmark: write-verify of an array to random 4-level targets, through the full stack vs the bare physics.

Full stack: ``labctl.jobs.run_protocol`` -> ``labctl.bench.open_bench(DEFAULT_CONFIG)`` (drivers -> pyvisa ->
TCP -> simulator -> physics) -> SQLite journal. Baseline, measured in the same run: the same protocol and
journal over an in-process adapter straight on the physics (no drivers, no sockets).
Prints cells programmed per second, SCPI round trips per programmed cell (matrix and SMU), the bench time the
timing model estimates for real instruments, CPU seconds, and the statistics from the journal.

Three paths in one run (``--path all``, the default): the default bench (B2902, the ISPP loop on the host, one
pulse + verify message per step), ``configs/sim_bench_2600b.yaml`` (a 2636B running each cell's whole loop
inside the instrument, labctl's write-verify script loaded once) and ``configs/sim_bench_2600b_parallel.yaml``
(four 2636Bs on TSP-Link: six cells of a row programmed at once, one relay move per six cells); the last lines
print each fast path's ratio to the B2902 path (``--path both``: the first two only).

The simulator runs in a child process by default (``labctl sim serve``: its own GIL, spinning servers), which this
process opens as it would open a real bench; its timing-model clock is asked from the child. ``--sim thread``
serves it from a thread of this process instead (``open_bench`` on the simulated config).

    .venv/bin/python benchmarks/bench_program.py [--size 64] [--parallel 1] [--sim process|thread]
        [--path all|both|b2902|2600b|parallel] [--baseline-only] [--write-readme]

``--write-readme`` saves ``benchmarks/results/program.json`` (the B2902 path: README section "Programming") and,
with a fast path, ``program-2600b.json`` (the paths, their ratios and the goals), and rewrites the README's
``<!-- figures:program -->`` and ``<!-- figures:program-2600b -->`` blocks from them (``scripts/readme_figures.py``).
Without it the results are saved but the README is left alone.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import importlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import save

from labctl.analysis import program_stats
from labctl.jobs.protocol_run import run_protocol
from labctl.store import RunStore

PEERS_S_PER_CELL = {"MemTorch write-verify": 1.4, "aihwkit realistic write": 0.11, "NeuRRAM real bench": 0.2}


class _PhysicsBench:
    """Baseline: the bare physics behind a CrossbarAccess (tests/protocols/simaccess.py)."""

    def __init__(self, size: int) -> None:
        from sim_instruments import NonIdealities
        from tests.protocols.simaccess import SimAccess

        self.crossbars = {"xbar0": SimAccess(size, size, seed=0, nonideal=NonIdealities(d2d=0.05, read_noise=0.01))}

    async def snapshot(self) -> dict[str, Any]:
        return {"baseline": "bare physics"}


def _stats(store: RunStore, run_id: str) -> dict[str, Any]:
    return program_stats(store.event_arrays(run_id), store.outcomes(run_id).values()).to_dict()


async def _run(label: str, size: int, params: dict[str, Any], root: Path, bench: Any = None,
               config: Any = None) -> dict[str, Any]:
    t0, c0 = time.perf_counter(), time.process_time()
    res = await run_protocol(config, "program", params, store_root=root / label, bench=bench)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    st = _stats(RunStore(root / label), str(res.run_id))
    return {"label": label, "wall_s": wall, "cpu_s": cpu, "cells_per_s": st["cells"] / wall, "stats": st,
            "run": res.run_id}


def _child_cpu(pid: int) -> float:
    """User + system CPU seconds of a (Linux) process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _full(args: argparse.Namespace, params: dict[str, Any], root: Path, config: Path, label: str
                ) -> dict[str, Any]:
    """The program run through the whole stack; the simulator in this process or in a child process."""
    bench_mod = importlib.import_module("labctl.bench")
    sent: list[tuple[str, str]] = []  # every message the drivers send, counted at the transport (open_bench's log)
    log = lambda res, msg: sent.append((res, msg))  # noqa: E731
    if args.sim == "thread":
        async with bench_mod.open_bench(config, log=log) as bench:
            n_open, t_open = len(sent), bench.estimated_bench_seconds()
            full = await _run(f"{label}-thread", args.size, params, root, bench=bench)
            full["bench_s"] = bench.estimated_bench_seconds() - t_open
            mats = {r for n, r in bench.simulation.resources.items() if bench.config.instruments[n].is_matrix}
    else:  # ``labctl sim serve`` in a child process; this process opens it as it would open a real bench
        from labctl.core.config import load_bench_config

        with bench_mod.SimProcess(load_bench_config(config)) as proc:
            served = proc.served_config()
            async with bench_mod.open_bench(served, log=log) as bench:
                n_open, t_open, c_open = len(sent), proc.now(), _child_cpu(proc.proc.pid)
                full = await _run(f"{label}-process", args.size, params, root, bench=bench)
                full["bench_s"] = proc.now() - t_open  # the timing model runs in the child: asked there
                full["child_cpu_s"] = _child_cpu(proc.proc.pid) - c_open
                mats = {i.resource for i in served.instruments.values() if i.is_matrix}
    run_msgs = sent[n_open:]
    full["messages"] = len(run_msgs)
    full["trips"] = sum(1 for _, m in run_msgs if "?" in m or "print(" in m or m.startswith("labctl_"))  # queries
    full["matrix_trips"] = sum(1 for r, m in run_msgs if r in mats and ("?" in m or "print(" in m))
    kinds: dict[str, int] = {}
    for _, m in run_msgs:
        head = m.split()[0].split(";")[0][:24]
        kinds[head] = kinds.get(head, 0) + 1
    full["by_header"] = kinds
    return full


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--parallel", type=int, default=1)
    ap.add_argument("--sim", choices=["process", "thread"], default="process",
                    help="simulator in a child process (labctl sim serve, default) or in a thread of this process")
    ap.add_argument("--path", choices=["all", "both", "b2902", "2600b", "parallel"], default="all",
                    help="programming path(s): the B2902 default bench, the 2600B fast path (one 2636B, a cell at a "
                         "time), parallel (several 2636Bs, a group of cells at once), both (B2902 and 2600B) or all "
                         "three")
    ap.add_argument("--baseline-only", action="store_true")
    ap.add_argument("--write-readme", action="store_true",
                    help="rewrite the README's figures:program (and, with both paths, figures:program-2600b) blocks")
    args = ap.parse_args()
    print(f"{datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')}, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs")
    params = {"random_levels": 4, "seed": 1, "shape": [args.size, args.size], "parallel": args.parallel}
    from sim_instruments.physics import warm_up_integrator

    # compile the integrator (or load it from numba's cache) before any timed run, so that no path pays for it
    print(f"integrator: {'compiled (numba)' if warm_up_integrator() else 'vectorised NumPy loop'}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        base = await _run("baseline", args.size, params, root, bench=_PhysicsBench(args.size))
        print(f"baseline (bare physics + journal): {base['cells_per_s']:.0f} cells/s, {base['wall_s']:.2f} s "
              f"(cpu {base['cpu_s']:.1f} s)")
        if args.baseline_only:
            print(json.dumps(base["stats"], indent=1))
            return
        bench_mod = importlib.import_module("labctl.bench")
        paths = {"b2902": bench_mod.DEFAULT_CONFIG, "2600b": bench_mod.CONFIGS / "sim_bench_2600b.yaml",
                 "parallel": bench_mod.CONFIGS / "sim_bench_2600b_parallel.yaml"}
        chosen = {"all": set(paths), "both": {"b2902", "2600b"}}.get(args.path, {args.path})
        runs = {}
        for name, config in paths.items():
            if name in chosen:
                runs[name] = await _full(args, params, root, config, name)
                _report(args, name, runs[name], base)
    if "b2902" in runs:
        a = runs["b2902"]
        for name in ("2600b", "parallel"):
            if name in runs:
                b = runs[name]
                cells = b["stats"]["cells"]
                print(f"{FAST_LABELS[name]} vs B2902 host loop: wall {a['wall_s']:.1f} s / {b['wall_s']:.1f} s = "
                      f"{a['wall_s'] / b['wall_s']:.2f}x faster (goal >= 3x); host messages per cell "
                      f"{a['messages'] / cells:.2f} / {b['messages'] / cells:.2f} (goal <= 1.5); modelled bench "
                      f"time per cell {1e3 * a['bench_s'] / cells:.2f} / {1e3 * b['bench_s'] / cells:.2f} ms "
                      "(goal <= 2 ms); "
                      f"CPU (this process + simulator) {_cpu(a):.1f} s / {_cpu(b):.1f} s = {_cpu(a) / _cpu(b):.2f}x")
    _save(args, base, runs)


def _parallel_bench() -> tuple[int, int]:
    """(2600B instruments, column channels) of the parallel bench's config: the cells a group holds."""
    bench_mod = importlib.import_module("labctl.bench")
    cfg = bench_mod.load_config(bench_mod.CONFIGS / "sim_bench_2600b_parallel.yaml")
    smus = sum(i.driver == "keithley_2600b" for i in cfg.instruments.values())
    cols = sum("column" in inp.roles for x in cfg.crossbars.values() for inp in x.wiring.inputs)
    return smus, cols


_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}
_SMUS, _COLS = _parallel_bench()
_GROUP = f"{_WORDS.get(_COLS, _COLS)} cells at once on {_WORDS.get(_SMUS, _SMUS)} 2636Bs"
FAST_LABELS = {"2600b": "2600B fast path (one 2636B, a cell at a time)",
               "parallel": f"2600B parallel fast path ({_GROUP})"}


def _cpu(run: dict[str, Any]) -> float:
    return float(run["cpu_s"] + run.get("child_cpu_s", 0.0))


def _report(args: argparse.Namespace, name: str, full: dict[str, Any], base: dict[str, Any]) -> None:
    st = full["stats"]
    cells = st["cells"]
    child = f" + simulator process {full['child_cpu_s']:.1f} s" if "child_cpu_s" in full else ""
    print(f"[{name}] full stack ({args.size}x{args.size}, parallel={args.parallel}, simulator in a {args.sim}): "
          f"{full['wall_s']:.1f} s wall, {full['cells_per_s']:.0f} cells/s (cpu: this process {full['cpu_s']:.1f} s"
          f"{child}); ratio full/baseline speed = {full['cells_per_s'] / base['cells_per_s']:.3f}")
    print(f"converged {st['converged']}/{cells} = {100 * st['converged_fraction']:.2f} %, failed {st['failed']}, "
          f"stuck {st['stuck']} (tolerance |G - target| <= 1 uS + 3 % of target)")
    print(f"pulses per cell (journal): {json.dumps(st['pulses_per_cell'])}")
    print(f"pulse histogram: {json.dumps(st['pulse_histogram'])}")
    print(f"final |G-target|/target of converged cells: {json.dumps(st['rel_error'])}")
    print(f"messages: {full['messages']} ({full['messages'] / cells:.2f} per programmed cell), of which round "
          f"trips (queries) {full['trips']} ({full['trips'] / cells:.2f} per cell: matrix "
          f"{full['matrix_trips'] / cells:.2f}, SMU {(full['trips'] - full['matrix_trips']) / cells:.2f}); "
          f"by header: {json.dumps(full['by_header'])}")
    bench_s = full["bench_s"]
    print(f"timing model: {bench_s:.1f} s of real-bench time, {bench_s / cells:.4f} s per cell")
    for peer, s in PEERS_S_PER_CELL.items():
        print(f"  vs {peer} {s} s/cell: sim wall {full['wall_s'] / cells / s:.3f}x, "
              f"modelled bench {bench_s / cells / s:.3f}x")





def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _cpu_text(run: dict[str, Any]) -> str:
    if "child_cpu_s" in run:
        return f"{run['cpu_s']:.1f} s here + {run['child_cpu_s']:.1f} s in the simulator process"
    return f"{run['cpu_s']:.1f} s (simulator in this process)"


def program_table(args: argparse.Namespace, run: dict[str, Any], base: dict[str, Any]) -> str:
    """The B2902 path's figures (README section "Programming")."""
    st, cells = run["stats"], run["stats"]["cells"]
    pc, rel = st["pulses_per_cell"], st["rel_error"]
    smu = (run["trips"] - run["matrix_trips"]) / cells
    rows = [
        ("converged (journal)", f"{st['converged']} / {cells} = {100 * st['converged_fraction']:.2f} % "
                                f"({st['failed']} failed, {st['stuck']} stuck), tolerance 1 µS + 3 % of the target"),
        ("pulses per cell", f"mean {pc['mean']:.2f}, p50 {pc['p50']:g}, p90 {pc['p90']:g}, p99 {pc['p99']:g}, "
                            f"max {pc['max']:g}"),
        ("final \\|G - target\\| / target (converged)",
         f"mean {100 * rel['mean']:.1f} %, p50 {100 * rel['p50']:.1f} %, p99 {100 * rel['p99']:.1f} %"),
        ("round trips per programmed cell", f"{run['trips'] / cells:.2f} = {run['matrix_trips'] / cells:.2f} route "
                                            f"(matrix) + {smu:.2f} on the SMU"),
        (f"wall time, full stack ({args.size}x{args.size}, simulator in a {args.sim})",
         f"{run['wall_s']:.1f} s ({run['cells_per_s']:.0f} cells/s; CPU {_cpu_text(run)}); bare-physics baseline "
         f"in the same run {base['wall_s']:.1f} s ({run['cells_per_s'] / base['cells_per_s']:.2f}x its speed)"),
        ("real-bench time (timing model)", f"{run['bench_s']:.1f} s, {1e3 * run['bench_s'] / cells:.2f} ms per cell"),
        ("peers (s per cell)", ", ".join(f"{k} {v:g}" for k, v in PEERS_S_PER_CELL.items())
         + ": modelled bench " + " / ".join(f"{run['bench_s'] / cells / v:.3f}x" for v in PEERS_S_PER_CELL.values())
         + " of theirs"),
    ]
    return "\n".join(["| figure | value |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)])


def both_table(a: dict[str, Any], fast: dict[str, dict[str, Any]]) -> str:
    """The B2902 path and the 2600B paths of one run, their ratios and the issue's goals (met or not: judged on
    the last, fastest path)."""
    names = list(fast)
    last = fast[names[-1]]

    def per_cell(r: dict[str, Any], key: str, scale: float = 1.0) -> float:
        return scale * float(r[key]) / r["stats"]["cells"]

    ratio = {n: a["wall_s"] / r["wall_s"] for n, r in fast.items()}
    rows = [
        ("converged", f"{a['stats']['converged']} / {a['stats']['cells']}",
         *(f"{r['stats']['converged']} / {r['stats']['cells']}" for r in fast.values()), "", ""),
        ("pulses per cell (mean)", f"{a['stats']['pulses_per_cell']['mean']:.2f}",
         *(f"{r['stats']['pulses_per_cell']['mean']:.2f}" for r in fast.values()), "", ""),
        ("host messages per programmed cell", f"{per_cell(a, 'messages'):.2f}",
         *(f"**{per_cell(r, 'messages'):.2f}**" for r in fast.values()), "<= 1.5",
         _met(per_cell(last, "messages") <= 1.5)),
        ("modelled real-bench time per cell", f"{per_cell(a, 'bench_s', 1e3):.2f} ms",
         *(f"**{per_cell(r, 'bench_s', 1e3):.2f} ms**" for r in fast.values()), "<= 2 ms",
         _met(per_cell(last, "bench_s", 1e3) <= 2.0)),
        ("CPU, this process + simulator", f"{a['cpu_s']:.1f} + {a.get('child_cpu_s', 0.0):.1f} s",
         *(f"{r['cpu_s']:.1f} + {r.get('child_cpu_s', 0.0):.1f} s ({_cpu(a) / _cpu(r):.2f}x less)"
           for r in fast.values()), "", ""),
        ("wall time", f"{a['wall_s']:.1f} s", *(f"**{r['wall_s']:.1f} s ({ratio[n]:.2f}x faster)**"
                                                for n, r in fast.items()), ">= 3x", _met(ratio[names[-1]] >= 3.0)),
    ]
    heads = {"2600b": "2600B, loop in the instrument (one 2636B)",
             "parallel": f"2600B parallel, {_GROUP}"}
    head = ["| figure | B2902, loop on the host | " + " | ".join(heads[n] for n in names) + " | goal | |",
            "|---|---|" + "---|" * len(names) + "---|---|"]
    return "\n".join([*head, *(f"| {' | '.join(r)} |" for r in rows)])


def _save(args: argparse.Namespace, base: dict[str, Any], runs: dict[str, dict[str, Any]]) -> None:
    slim = {k: {f: v for f, v in r.items() if f != "by_header"} for k, r in runs.items()}
    common = {"size": args.size, "parallel": args.parallel, "sim": args.sim,
              "baseline": {k: base[k] for k in ("wall_s", "cpu_s", "cells_per_s")}}
    if "b2902" in runs:
        save("program", {**common, "b2902": slim["b2902"]}, program_table(args, runs["b2902"], base),
             write_readme=args.write_readme)
    fast = {n: runs[n] for n in ("2600b", "parallel") if n in runs}
    if "b2902" in runs and fast:
        save("program-2600b", {**common, **slim}, both_table(runs["b2902"], fast), write_readme=args.write_readme)


if __name__ == "__main__":
    asyncio.run(main())
