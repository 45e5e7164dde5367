"""The main job's README figures, from what the loop itself wrote (never typed by hand).

    .venv/bin/python benchmarks/loop_figures.py [--report results/loop/report.json ...] [--name loop]
                                                [--write-readme]

Reads each loop's ``report.json`` (accuracy per stage, programming statistics, timing; ``--report`` may be given
several times, one table row per report) and saves ``benchmarks/results/<name>.json`` with the markdown block the
README shows under ``<!-- figures:<name> -->`` (``loop``: the main job; ``loop_faults``: the ``--stuck`` runs).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import save

from labctl.jobs.closed_loop import LOOP_BENCH

#: the main job's default bench: left out of the command shown
DEFAULT_BENCH = LOOP_BENCH.name


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f} %"


def command(report: dict[str, Any]) -> str:
    """The command that made the report, as the README shows it (the defaults left out)."""
    p = report["parameters"]["loop"]
    name = "`labctl loop"
    if p.get("bench") and Path(p["bench"]).name != DEFAULT_BENCH:
        name += f" --bench {p['bench']}"
    if p.get("stuck_on") or p.get("stuck_off"):
        on, off = p.get("stuck_on", 0.0), p.get("stuck_off", 0.0)
        name += f" --stuck {on:g}" if on == off else f" --stuck-on {on:g} --stuck-off {off:g}"
    if p.get("place", "auto") != "auto":
        name += f" --place {p['place']}"
    if p.get("seed"):
        name += f" --seed {p['seed']}"
    if any(k > 1 for k in p.get("repeats") or ()):
        name += " --repeats " + ",".join(map(str, p["repeats"]))
    return name + "`" + (f" ({p['transport']} transport, no sockets)" if p.get("transport", "visa") != "visa" else "")


def row(report: dict[str, Any]) -> str:
    acc = {a["stage"]: a for a in report["accuracy"]}
    before, after = acc["before retraining"], acc["after retraining"]
    t = report["timing"]
    parts = [f"{k} {t[f'{key}_wall_s']:.0f} s" for k, key in
             (("scan", "scan"), ("programming", "program"), ("bench inference", "inference")) if f"{key}_wall_s" in t]
    return (f"| {command(report)} | {_pct(before['software'])} | {_pct(before['measured_crossbar'])} / "
            f"**{_pct(after['measured_crossbar'])}** | {_pct(before['drop'])} / {_pct(after['drop'])} | "
            f"{t['total_wall_s']:.0f} s ({', '.join(parts)}; {t['estimated_real_bench_s']:.0f} s modelled on real "
            "instruments) |")


def programming(report: dict[str, Any]) -> str:
    first = [r for r in report["programming"] if r["stage"] == "initial"]
    cells = sum(r["cells"] for r in first)
    conv = sum(r["converged"] for r in first)
    pulses = sum(r["pulses_total"] for r in first) / max(cells, 1)
    return (f"{command(report)}: initial programming {conv} of {cells} cells converged, {pulses:.1f} pulses per "
            f"cell; loop run of {report['created']}.")


def markdown(reports: list[dict[str, Any]]) -> str:
    rows = [
        "| command | software | measured crossbar before / after retraining | drop before / after | wall time |",
        "|---|---|---|---|---|",
        *(row(r) for r in reports),
        "",
        *(programming(r) + "<br>" for r in reports[:-1]),
        programming(reports[-1]) + " Wall times are the loops' own; the load below is when this block was written.",
    ]
    return "\n".join(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--report", type=Path, action="append",
                    help="a loop's report.json (repeatable; default results/loop/report.json)")
    ap.add_argument("--name", default="loop", help="results/README block name (loop, loop_faults)")
    ap.add_argument("--write-readme", action="store_true")
    args = ap.parse_args()
    reports = [json.loads(p.read_text()) for p in (args.report or [Path("results/loop/report.json")])]
    md = markdown(reports)
    print(md)
    save(args.name, {"runs": [{"command": command(r), "accuracy": r["accuracy"], "timing": r["timing"]}
                              for r in reports]}, md, write_readme=args.write_readme)
    return 0


if __name__ == "__main__":
    sys.exit(main())
