"""Benchmark: write-verify of an array to random 4-level targets, through the full stack vs the bare physics.

Full stack: ``labctl.jobs.run_protocol`` -> ``labctl.bench.open_bench(DEFAULT_CONFIG)`` (drivers -> pyvisa ->
TCP -> simulator -> physics) -> SQLite journal. Baseline, measured in the same run: the same protocol and
journal over an in-process adapter straight on the physics (no drivers, no sockets).
Prints cells programmed per second, SCPI round trips per programmed cell (matrix and SMU), the bench time the
timing model estimates for real instruments, CPU seconds, and the statistics from the journal.

Two paths in one run (``--path both``, the default): the default bench (B2902, the ISPP loop on the host, one
pulse + verify message per step) and ``configs/sim_bench_2600b.yaml`` (a 2636B running each cell's whole loop
inside the instrument, labctl's write-verify script loaded once); the last lines print their ratio.

The simulator runs in a child process by default (``labctl sim serve``: its own GIL, spinning servers), which this
process opens as it would open a real bench; its timing-model clock is asked from the child. ``--sim thread``
serves it from a thread of this process instead (``open_bench`` on the simulated config).

    .venv/bin/python benchmarks/bench_program.py [--size 64] [--parallel 1] [--sim process|thread]
        [--path both|b2902|2600b] [--baseline-only]
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
    full["trips"] = sum(1 for _, m in run_msgs if "?" in m or "print(" in m)  # queries: the driver waits
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
    ap.add_argument("--path", choices=["both", "b2902", "2600b"], default="both",
                    help="programming path(s): the B2902 default bench, the 2600B fast path, or both (ratio)")
    ap.add_argument("--baseline-only", action="store_true")
    args = ap.parse_args()
    params = {"random_levels": 4, "seed": 1, "shape": [args.size, args.size], "parallel": args.parallel}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        base = await _run("baseline", args.size, params, root, bench=_PhysicsBench(args.size))
        print(f"baseline (bare physics + journal): {base['cells_per_s']:.0f} cells/s, {base['wall_s']:.2f} s "
              f"(cpu {base['cpu_s']:.1f} s)")
        if args.baseline_only:
            print(json.dumps(base["stats"], indent=1))
            return
        bench_mod = importlib.import_module("labctl.bench")
        paths = {"b2902": bench_mod.DEFAULT_CONFIG, "2600b": bench_mod.CONFIGS / "sim_bench_2600b.yaml"}
        runs = {}
        for name, config in paths.items():
            if args.path in (name, "both"):
                runs[name] = await _full(args, params, root, config, name)
                _report(args, name, runs[name], base)
    if len(runs) == 2:
        a, b = runs["b2902"], runs["2600b"]
        cells = b["stats"]["cells"]
        print(f"2600B fast path vs B2902 host loop: wall {a['wall_s']:.1f} s / {b['wall_s']:.1f} s = "
              f"{a['wall_s'] / b['wall_s']:.2f}x faster (goal >= 3x); host messages per cell "
              f"{a['messages'] / cells:.2f} / {b['messages'] / cells:.2f} (goal <= 1.5); modelled bench time per cell "
              f"{1e3 * a['bench_s'] / cells:.2f} / {1e3 * b['bench_s'] / cells:.2f} ms (goal <= 2 ms)")
    print(f"{datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')}, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs")


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


if __name__ == "__main__":
    asyncio.run(main())
