"""Where benchmarks keep what they measured: ``benchmarks/results/<name>.json`` (numbers, the markdown table the
README shows, date, machine and load), and the README block rewritten from it (``scripts/readme_figures.py``).

A README figure is never typed by hand: a benchmark run with ``--write-readme`` saves its JSON and rewrites the
README's ``<!-- figures:NAME -->...<!-- /figures:NAME -->`` block from it.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def machine() -> dict[str, Any]:
    """Date, CPU count, load averages and the command, for the record next to every figure."""
    load = os.getloadavg()
    return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpus": os.cpu_count(),
            "load_1_5_15": [round(x, 2) for x in load], "python": platform.python_version(),
            "command": " ".join([Path(os.path.relpath(Path(sys.argv[0]).resolve(), ROOT)).as_posix(),
                                 *sys.argv[1:]])}


def save(name: str, data: dict[str, Any], markdown: str, *, write_readme: bool = False) -> Path:
    """Save ``benchmarks/results/<name>.json``; with ``write_readme`` rewrite the README block ``name``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"name": name, "machine": machine(), "data": data, "markdown": markdown},
                               indent=2) + "\n")
    print(f"results: {path.relative_to(ROOT)}")
    if write_readme:
        subprocess.run([sys.executable, str(ROOT / "scripts" / "readme_figures.py"), name], check=True)
    return path
