"""The ``labctl hil`` report: ``hil.json`` and a self-contained ``hil.html`` (with the map-read histogram)."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

from labctl.hil._result import HilReport

_COLOURS = {"pass": "#1a7f37", "fail": "#cf222e", "skip": "#6e7781"}


def _histogram(report: HilReport) -> str:
    try:
        g = report.result("map_read").data.get("conductance")
    except KeyError:
        return ""
    if not g:
        return ""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(6, 3), dpi=100)
    ax.hist(np.asarray(g).ravel() * 1e6, bins=40, color="#0969da")
    ax.set_xlabel("read conductance (µS)")
    ax.set_ylabel("cells")
    ax.set_title("map read of the test area")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode()
    return f'<img alt="read conductance histogram" src="data:image/png;base64,{data}">'


def _row(r: Any) -> str:
    ev = "".join(f"<li>{html.escape(e)}</li>" for e in r.evidence)
    colour = _COLOURS[str(r.status)]
    return (f'<tr><td>{html.escape(r.title)}</td><td style="color:{colour};font-weight:bold">{r.status}</td>'
            f"<td>{html.escape(r.summary)}<ul>{ev}</ul></td><td>{r.seconds:.1f} s</td></tr>")


def write_report(report: HilReport, out: Path) -> tuple[Path, Path]:
    """Write ``hil.json`` and ``hil.html`` into ``out``; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    jpath, hpath = out / "hil.json", out / "hil.html"
    jpath.write_text(json.dumps(report.to_json(), indent=2))
    verdict = "PASS: the bench is fit to use" if report.ok else "FAIL: fix the first failure before using the bench"
    rows = "".join(_row(r) for r in report.results)
    hpath.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>labctl hil: "
        f"{html.escape(report.bench)}</title><style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}"
        "table{border-collapse:collapse;width:100%}td,th{border:1px solid #d0d7de;padding:6px;vertical-align:top;"
        "overflow-wrap:anywhere}ul{margin:4px 0 0 1em;padding:0;font-size:90%}</style></head><body>"
        f"<h1>Bench check: {html.escape(report.bench)} / {html.escape(report.crossbar)}</h1>"
        f"<p>{html.escape(report.started)}; programming {'allowed' if report.allow_program else 'not allowed'}</p>"
        f"<h2 style='color:{_COLOURS['pass' if report.ok else 'fail']}'>{verdict}</h2>"
        f"<table><tr><th>check</th><th>result</th><th>evidence</th><th>time</th></tr>{rows}</table>"
        f"{_histogram(report)}</body></html>")
    return jpath, hpath
