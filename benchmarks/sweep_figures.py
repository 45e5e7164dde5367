"""The README's figures of a large sweep, from the sweep's own report (never typed by hand).

    labctl sweep configs/sweeps/program_100.yaml --workers 2 --out DIR      # the measurement (about an hour)
    .venv/bin/python benchmarks/sweep_figures.py --sweep DIR [--load-log FILE] [--write-readme]

Reads ``DIR/report.json`` (the sweep report: chips, per-variant summaries, wall time, chips per hour) and saves
``benchmarks/results/sweep100.json`` with the markdown block the README shows under ``<!-- figures:sweep100 -->``.
``--load-log`` is a file of ``ISO-TIME LOAD1 LOAD5 LOAD15`` lines sampled while the sweep ran (for example
``while true; do echo "$(date -u +%FT%TZ) $(cut -d' ' -f1-3 /proc/loadavg)"; sleep 30; done``); its range is
printed with the figures, since a shared machine's load changes the wall time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import save


def _load_range(path: Path | None, start: str, end: str) -> str:
    """``min-max (median m)`` of the 1-minute load average sampled between ``start`` and ``end`` (ISO times)."""
    if path is None or not path.exists():
        return "not sampled"
    loads = [
        float(parts[1])
        for line in path.read_text().splitlines()
        if len(parts := line.split()) >= 2 and start[:19] <= parts[0][:19] <= end[:19]
    ]
    if not loads:
        return "not sampled"
    return f"{min(loads):.1f}-{max(loads):.1f} (median {statistics.median(loads):.1f}, {len(loads)} samples)"


def _summary(report: dict[str, Any], metric: str) -> dict[str, Any] | None:
    rows = [s for s in report["summaries"] if s["metric"] == metric]
    return rows[0] if rows else None


def markdown(report: dict[str, Any], workers: int, load: str) -> str:
    n = len(report["chips"])
    yld = _summary(report, "yield")
    ppc = _summary(report, "pulses_per_cell")
    bench = _summary(report, "program_bench_s")
    wall = _summary(report, "wall_s")
    spec = report["spec"]
    job = spec.get("job", {}).get("protocol", spec.get("job", {}).get("kind", "?"))
    rows = [
        f"| `labctl sweep` of spec `{spec.get('name', 'sweep')}`: {report['chips_total']} chips, job "
        f"`{job}` ({workers} workers, local Ray) | "
        "measured |",
        "|---|---|",
        f"| chips completed / planned (failed, completed after a retry) | {n} / {report['chips_total']} "
        f"({len(report['failed'])} failed, {len(report['retried'])} retried) |",
        f"| sweep wall time | **{report['wall_s'] / 60:.1f} min = {report['chips_per_hour']:.0f} chips per hour** |",
    ]
    if wall:
        rows.append(
            f"| chip wall time (whole job, in its worker) | median {wall['median']:.1f} s "
            f"(p10-p90 {wall['p10']:.1f}-{wall['p90']:.1f} s) |"
        )
    if yld:
        rows.append(
            f"| programming yield (converged cells) | mean {100 * yld['mean']:.3f} %, min {100 * yld['min']:.3f} % |"
        )
    if ppc:
        rows.append(f"| pulses per cell (chip means) | mean {ppc['mean']:.2f} ({ppc['min']:.2f}-{ppc['max']:.2f}) |")
    if bench:
        rows.append(f"| modelled programming time on real instruments, per chip | median {bench['median']:.1f} s |")
    rows.append(f"| 1-minute load average while it ran (2 CPUs) | {load} |")
    rows.append("")
    rows.append(
        f"Sweep report of {report['created']}: distributions (CDFs, box plots) and per-variant tables in "
        "`DIR/report.html`, the same numbers in `DIR/report.json`."
    )
    return "\n".join(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sweep", type=Path, required=True, help="the sweep's --out folder (with report.json)")
    ap.add_argument("--workers", type=int, default=2, help="the --workers the sweep ran with")
    ap.add_argument("--load-log", type=Path, default=None)
    ap.add_argument("--write-readme", action="store_true")
    ap.add_argument(
        "--images",
        type=Path,
        default=None,
        help="also draw the yield and pulses-per-cell distributions as DIR/sweep100-<metric>.png",
    )
    args = ap.parse_args()
    report = json.loads((args.sweep / "report.json").read_text())
    end = dt.datetime.fromisoformat(report["created"].replace("Z", "+00:00"))
    start = (end - dt.timedelta(seconds=report["wall_s"])).strftime("%Y-%m-%dT%H:%M:%S")
    load = _load_range(args.load_log, start, end.strftime("%Y-%m-%dT%H:%M:%S"))
    md = markdown(report, args.workers, load)
    print(md)
    data = {k: report[k] for k in ("name", "chips_total", "wall_s", "chips_per_hour", "failed", "retried", "summaries")}
    save("sweep100", data, md, write_readme=args.write_readme)
    if args.images is not None:
        from labctl.report import SweepReport, distribution_figure

        rep = SweepReport.from_json((args.sweep / "report.json").read_text())
        args.images.mkdir(parents=True, exist_ok=True)
        for metric in ("yield", "pulses_per_cell"):
            path = args.images / f"sweep100-{metric.replace('_', '-')}.png"
            path.write_bytes(distribution_figure(rep, metric))
            print(f"figure: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
