"""The main job's README figures, from what the loop itself wrote (never typed by hand).

    .venv/bin/python benchmarks/loop_figures.py [--report results/loop/report.json] [--write-readme]

Reads the loop's ``report.json`` (accuracy per stage, programming statistics, timing) and saves
``benchmarks/results/loop.json`` with the markdown row block the README shows under ``<!-- figures:loop -->``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import save


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f} %"


def markdown(report: dict[str, Any]) -> str:
    acc = {a["stage"]: a for a in report["accuracy"]}
    before, after = acc["before retraining"], acc["after retraining"]
    p = report["parameters"]["loop"]
    name = "`labctl loop`" + (f" --stuck {p['stuck_on']}" if p.get("stuck_on") else "")
    t = report["timing"]
    first = [r for r in report["programming"] if r["stage"] == "initial"]
    cells = sum(r["cells"] for r in first)
    conv = sum(r["converged"] for r in first)
    pulses = sum(r["pulses_total"] for r in first) / max(cells, 1)
    rows = [
        "| command | software | measured crossbar before / after retraining | drop before / after | wall time |",
        "|---|---|---|---|---|",
        f"| {name} | {_pct(before['software'])} | {_pct(before['measured_crossbar'])} / "
        f"**{_pct(after['measured_crossbar'])}** | {_pct(before['drop'])} / {_pct(after['drop'])} | "
        f"{t['total_wall_s']:.0f} s (scan {t['scan_wall_s']:.0f} s, programming {t['program_wall_s']:.0f} s, "
        f"bench inference {t['inference_wall_s']:.0f} s; {t['estimated_real_bench_s']:.0f} s modelled on real "
        "instruments) |",
        "",
        f"Initial programming: {conv} of {cells} cells converged, {pulses:.1f} pulses per cell. Loop run of "
        f"{report['created']} (its wall times are the loop's own; the load below is when this block was written).",
    ]
    return "\n".join(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--report", type=Path, default=Path("results/loop/report.json"))
    ap.add_argument("--write-readme", action="store_true")
    args = ap.parse_args()
    report = json.loads(args.report.read_text())
    md = markdown(report)
    print(md)
    save("loop", {"accuracy": report["accuracy"], "timing": report["timing"]}, md, write_readme=args.write_readme)
    return 0


if __name__ == "__main__":
    sys.exit(main())
