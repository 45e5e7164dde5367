#!/usr/bin/env python3
"""Rewrite the README's figure blocks from the results the benchmarks saved (never typed by hand).

    python scripts/readme_figures.py [NAME ...]      # default: every benchmarks/results/*.json

A block is ``<!-- figures:NAME -->`` ... ``<!-- /figures:NAME -->``; its content becomes the ``markdown`` of
``benchmarks/results/NAME.json`` followed by one line saying when, where and how it was measured. A result with
no block in the README is reported, not added (where a figure goes is the README's choice).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
RESULTS = ROOT / "benchmarks" / "results"


def block(result: dict[str, object]) -> str:
    m = result["machine"]
    assert isinstance(m, dict)
    load = ", ".join(f"{x:g}" for x in m["load_1_5_15"])
    stamp = (f"<sub>Measured {m['date']} by `{m['command']}` on {m['cpus']} CPUs, load average {load} "
             f"(1/5/15 min); rewritten by `scripts/readme_figures.py` from `benchmarks/results/{result['name']}"
             f".json`.</sub>")
    return f"{str(result['markdown']).strip()}\n\n{stamp}"


def rewrite(text: str, name: str, content: str) -> tuple[str, bool]:
    pattern = re.compile(rf"(<!-- figures:{re.escape(name)} -->).*?(<!-- /figures:{re.escape(name)} -->)", re.S)
    new, n = pattern.subn(lambda m: f"{m.group(1)}\n{content}\n{m.group(2)}", text)
    return new, n > 0


def main(names: list[str]) -> int:
    text = README.read_text()
    files = [RESULTS / f"{n}.json" for n in names] if names else sorted(RESULTS.glob("*.json"))
    missing = []
    for f in files:
        result = json.loads(f.read_text())
        text, found = rewrite(text, result["name"], block(result))
        if not found:
            missing.append(result["name"])
    README.write_text(text)
    for name in missing:
        print(f"README has no <!-- figures:{name} --> block; nothing written for it", file=sys.stderr)
    print(f"README figures rewritten: {', '.join(f.stem for f in files if f.stem not in missing) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
