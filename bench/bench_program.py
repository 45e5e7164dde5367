"""Benchmark: write-verify of an array to random 4-level targets, through the full stack vs the bare physics.

Full stack: ``labctl.jobs.run_protocol`` -> ``labctl.bench.open_bench(DEFAULT_CONFIG)`` (drivers -> pyvisa ->
TCP -> simulator -> physics) -> SQLite journal. Baseline, measured in the same run: the same protocol and
journal over an in-process adapter straight on the physics (no drivers, no sockets).
Prints cells programmed per second, SCPI round trips per programmed cell (where the bench counts them), the
bench time the timing model estimates for real instruments, and the statistics from the journal.

    .venv/bin/python bench/bench_program.py [--size 64] [--parallel 8] [--baseline-only]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
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
    t0 = time.perf_counter()
    res = await run_protocol(config, "program", params, store_root=root / label, bench=bench)
    wall = time.perf_counter() - t0
    st = _stats(RunStore(root / label), str(res.run_id))
    return {"label": label, "wall_s": wall, "cells_per_s": st["cells"] / wall, "stats": st, "run": res.run_id}


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--parallel", type=int, default=1)
    ap.add_argument("--baseline-only", action="store_true")
    args = ap.parse_args()
    params = {"random_levels": 4, "seed": 1, "shape": [args.size, args.size], "parallel": args.parallel}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        base = await _run("baseline", args.size, params, root, bench=_PhysicsBench(args.size))
        print(f"baseline (bare physics + journal): {base['cells_per_s']:.0f} cells/s, {base['wall_s']:.2f} s")
        if args.baseline_only:
            print(json.dumps(base["stats"], indent=1))
            return
        bench_mod = importlib.import_module("labctl.bench")
        if not hasattr(bench_mod, "open_bench"):
            print("labctl.bench.open_bench is not available: full-stack figure not measured")
            return
        sent: list[str] = []  # every message the drivers send, counted at the transport (open_bench's log hook)
        async with bench_mod.open_bench(bench_mod.DEFAULT_CONFIG, log=lambda _res, msg: sent.append(msg)) as bench:
            n_open, t_open = len(sent), bench.estimated_bench_seconds()
            full = await _run("full", args.size, params, root, bench=bench)
            bench_s = bench.estimated_bench_seconds() - t_open
            run_msgs = sent[n_open:]
        trips = sum(1 for m in run_msgs if "?" in m)  # queries: the driver waits for the reply
    cells = full["stats"]["cells"]
    st = full["stats"]
    print(f"full stack ({args.size}x{args.size}, parallel={args.parallel}): {full['wall_s']:.1f} s wall, "
          f"{full['cells_per_s']:.0f} cells/s; ratio full/baseline speed = "
          f"{full['cells_per_s'] / base['cells_per_s']:.3f}")
    print(f"converged {st['converged']}/{cells} = {100 * st['converged_fraction']:.2f} %, failed {st['failed']}, "
          f"stuck {st['stuck']}")
    print(f"pulses per cell (journal): {json.dumps(st['pulses_per_cell'])}")
    print(f"pulse histogram: {json.dumps(st['pulse_histogram'])}")
    print(f"final |G-target|/target of converged cells: {json.dumps(st['rel_error'])}")
    kinds: dict[str, int] = {}
    for m in run_msgs:
        kinds[m.split()[0].split(";")[0][:24]] = kinds.get(m.split()[0].split(";")[0][:24], 0) + 1
    print(f"SCPI messages: {len(run_msgs)} ({len(run_msgs) / cells:.2f} per programmed cell), of which round trips "
          f"(queries) {trips} ({trips / cells:.2f} per cell); by header: {json.dumps(kinds)}")
    print(f"timing model: {bench_s:.1f} s of real-bench time, {bench_s / cells:.4f} s per cell")
    for peer, s in PEERS_S_PER_CELL.items():
        print(f"  vs {peer} {s} s/cell: sim wall {full['wall_s'] / cells / s:.3f}x, "
              f"modelled bench {bench_s / cells / s:.3f}x")


if __name__ == "__main__":
    asyncio.run(main())
