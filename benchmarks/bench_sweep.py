"""Sweep benchmark (on demand, not part of the test suite): ``.venv/bin/python benchmarks/bench_sweep.py``.

The same 8-chip ``program`` sweep (8 seeds of one simulated chip, ROWSxROWS arrays, 4 levels, the real stack:
drivers, pyvisa over loopback TCP, simulators, physics, journal), run three ways in one run:

* sequentially in this process (``run_chip`` per chip, no Ray): the baseline;
* on a local Ray with 1 worker, and with 2 workers (``run_sweep``).

Printed: wall times, throughput of 2 workers / 1 worker (goal >= 1.8x), and the Ray overhead per chip: (Ray
wall - Ray start - the chips' own time) / chips, against the chips' own time (goal <= 5 %); with the date, the
CPU count and the load average before and after each part (the machine may be shared: figures under load are
not the machine's capacity). Ray runs only in a loopback-only network namespace: the script re-runs itself
under ``unshare -rn`` when it is not in one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import save


def _in_namespace() -> None:
    if os.environ.get("LABCTL_NETNS") == "1":
        return
    os.environ["LABCTL_NETNS"] = "1"
    os.execvp(
        "unshare",
        [
            "unshare",
            "-rn",
            "sh",
            "-c",
            'ip link set lo up && exec "$0" "$@"',
            sys.executable,
            os.path.abspath(__file__),
            *sys.argv[1:],
        ],
    )


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chips", type=int, default=8)
    ap.add_argument("--rows", type=int, default=16, help="array rows = columns per chip")
    ap.add_argument("--transport", default="visa", choices=["visa", "inproc"])
    ap.add_argument("--write-readme", action="store_true", help="rewrite the README block figures:sweep_bench")
    a = ap.parse_args()
    _in_namespace()

    from labctl.jobs.sweep import expand, parse_spec, run_chip, run_sweep, write_plan
    from labctl.jobs.sweep.engine import _init_ray

    spec = parse_spec(
        {
            "name": "bench",
            "seeds": {"start": 0, "count": a.chips},
            "transport": a.transport,
            "variants": [{"name": "v", "array": {"rows": a.rows, "cols": a.rows}}],
            "job": {"protocol": "program", "params": {"random_levels": 4}},
        }
    )
    chips = expand(spec)
    print(
        f"# bench_sweep {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M UTC}, {os.cpu_count()} CPUs, "
        f"{a.chips} chips of {a.rows}x{a.rows}, program 4 levels, transport {a.transport}"
    )
    print(f"# load average (1/5/15 min) at start: {_load()}")
    root = Path(tempfile.mkdtemp(prefix="labctl-bench-sweep-"))

    t0 = time.monotonic()
    seq = [run_chip(c, root / "seq")["wall_s"] for c in chips]
    t_seq = time.monotonic() - t0
    print(f"sequential (one process): {t_seq:.1f} s, chip {statistics.mean(seq):.2f} s mean   load {_load()}")

    rows: dict[int, dict[str, Any]] = {}
    for workers in (1, 2):
        import ray

        out = root / f"ray{workers}"
        write_plan(out, spec, chips)
        t0 = time.monotonic()
        _init_ray(None, workers)
        t_init = time.monotonic() - t0
        res = run_sweep(out, workers=workers)
        wall = time.monotonic() - t0
        ray.shutdown()
        own = [r["wall_s"] for r in res.completed]
        spans = sorted((r["started"], r["finished"], r["pid"]) for r in res.completed)
        if len(own) != a.chips or res.failed:
            raise SystemExit(f"sweep incomplete: {len(own)} of {a.chips} chips, failed {res.failed}")
        gaps = [b[0] - a[1] for a, b in itertools.pairwise(spans) if a[2] == b[2]] if workers == 1 else []
        rows[workers] = {
            "wall": wall,
            "init": t_init,
            "own": own,
            "gaps": gaps,
            "first": spans[0][0] - (time.time() - (time.monotonic() - t0)),
        }
        over = (wall - t_init - sum(own) / workers) / a.chips
        print(
            f"ray, {workers} worker(s): {wall:.1f} s (Ray start {t_init:.1f} s), chip {statistics.mean(own):.2f} s "
            f"mean, overhead/chip {over:.2f} s   load {_load()}"
        )

    r1, r2 = rows[1], rows[2]
    speedup = r1["wall"] / r2["wall"]
    speedup_run = (r1["wall"] - r1["init"]) / (r2["wall"] - r2["init"])
    own1 = sum(r1["own"])
    over1 = (r1["wall"] - r1["init"] - own1) / a.chips
    over1_with_start = (r1["wall"] - own1) / a.chips
    mean_chip = own1 / a.chips

    def met(ok: bool) -> str:
        return "met" if ok else "**not met**"

    lines = [
        f"| {a.chips} chips of {a.rows}x{a.rows}, `program` 4 levels, transport {a.transport} | measured | goal |",
        "|---|---|---|",
        f"| sequential in one process / Ray 1 worker / Ray 2 workers (wall) | {t_seq:.1f} / {r1['wall']:.1f} / "
        f"{r2['wall']:.1f} s | |",
        f"| throughput, 2 workers / 1 worker (Ray start excluded) | **{speedup_run:.2f}x** | >= 1.8x: "
        f"{met(speedup_run >= 1.8)} |",
        f"| same, Ray start included | {speedup:.2f}x | |",
        f"| Ray overhead per chip / chip time (1 worker, Ray start excluded) | **{100 * over1 / mean_chip:.1f} %** "
        f"({over1:.2f} s of {mean_chip:.2f} s) | <= 5 %: {met(over1 / mean_chip <= 0.05)} |",
        f"| same, Ray start included | {100 * over1_with_start / mean_chip:.1f} % | |",
    ]
    if r1["gaps"]:
        gap = statistics.median(r1["gaps"])
        lines.append(
            f"| Ray overhead between consecutive chips on one worker (median) / chip time | "
            f"{100 * gap / mean_chip:.1f} % ({1000 * gap:.0f} ms) | |"
        )
    lines.append(
        f"| first chip starts after Ray start (worker start-up), 1 worker | {r1['first'] - r1['init']:.1f} s | |"
    )
    lines.append(f"| 1 worker on Ray / sequential in one process (wall) | {r1['wall'] / t_seq:.2f}x | |")
    md = "\n".join(lines)
    print()
    print(md)
    print(
        f"# load average at end: {_load()} on {os.cpu_count()} CPUs"
        + (
            "  (machine loaded: more runnable tasks than CPUs, so 2 workers cannot get 2 CPUs)"
            if os.getloadavg()[0] > (os.cpu_count() or 1)
            else ""
        )
    )
    data = {
        "chips": a.chips,
        "rows": a.rows,
        "sequential_s": t_seq,
        "ray1_s": r1["wall"],
        "ray2_s": r2["wall"],
        "speedup": speedup_run,
        "overhead_fraction": over1 / mean_chip,
        "chip_mean_s": mean_chip,
    }
    save("sweep_bench", data, md, write_readme=a.write_readme)


if __name__ == "__main__":
    main()
