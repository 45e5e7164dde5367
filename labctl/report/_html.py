"""Render a :class:`Report` as one self-contained HTML page: inline CSS, PNGs as data URIs, no network."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from labctl.report._model import ProgramPass, Report
from labctl.report._placement import placement_html
from labctl.report._plots import accuracy_figure, data_uri, levels_figure, maps_figure, pulses_figure

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:24px auto;max-width:1200px;
color:#1b1f24;background:#fff;padding:0 16px}
h1{font-size:1.6em;margin-bottom:0.2em}h2{border-bottom:2px solid #d0d7de;padding-bottom:4px;margin-top:1.6em}
table{border-collapse:collapse;margin:8px 0 16px;max-width:100%}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:right}td.id{white-space:nowrap;font-family:ui-monospace,
SFMono-Regular,Menlo,monospace;font-size:12px}
th{background:#f6f8fa}td.l,th.l{text-align:left}tr.ref td{color:#57606a;font-style:italic}
img{max-width:100%;border:1px solid #eaeef2;margin:6px 0}.muted{color:#57606a}.good{color:#1a7f37}
.bad{color:#cf222e}pre{background:#f6f8fa;padding:10px;overflow-x:auto;font-size:12px;max-height:480px}
details{margin:8px 0}summary{cursor:pointer;font-weight:600}
"""


def _e(x: object) -> str:
    return html.escape(str(x))


def _pct(v: float | None) -> str:
    return "&ndash;" if v is None or not math.isfinite(v) else f"{100 * v:.1f} %"


def _num(v: float | None, fmt: str = ".3g") -> str:
    return "&ndash;" if v is None or not math.isfinite(v) else format(v, fmt)


def _table(head: list[str], rows: list[list[str]], cls: list[str] | None = None, left: int = 1) -> str:
    th = "".join(f'<th class="l">{h}</th>' if i < left else f"<th>{h}</th>" for i, h in enumerate(head))
    body = []
    for k, r in enumerate(rows):
        c = f' class="{cls[k]}"' if cls and cls[k] else ""
        tds = "".join(f'<td class="l">{v}</td>' if i < left else f"<td>{v}</td>" for i, v in enumerate(r))
        body.append(f"<tr{c}>{tds}</tr>")
    return f"<table><thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _img(png: bytes, alt: str) -> str:
    return f'<img src="{data_uri(png)}" alt="{_e(alt)}">'


def _accuracy(r: Report) -> str:
    rows, cls = [], []
    for a in r.accuracy:
        d = a.drop
        rows.append([_e(a.stage), _pct(a.software), _pct(a.ideal_crossbar), _pct(a.measured_crossbar),
                     _pct(d), _pct(a.offline_measured), _e(a.n_test if a.n_test is not None else "")])
        cls.append("ref" if a.reference else "")
    head = ["stage", "software acc.", "ideal crossbar acc.", "measured crossbar acc.",
            "drop (software &minus; measured)", "offline on measured maps", "test images"]
    out = '<table id="accuracy-table"' + _table(head, rows, cls)[6:]
    bars = [(a.stage, {"software": a.software, "ideal crossbar": a.ideal_crossbar,
                       "measured crossbar": a.measured_crossbar}) for a in r.accuracy]
    if bars:
        out += _img(accuracy_figure(bars), "accuracy by stage")
    return out


def _maps(r: Report) -> str:
    parts = []
    for lm in r.maps:
        st = lm.error_stats()
        where = _e(lm.crossbar) if lm.layer == lm.crossbar else f"{_e(lm.layer)} on {_e(lm.crossbar)}"
        parts.append(f"<h3>{where} &middot; {_e(lm.stage)}</h3>")
        parts.append(
            f'<p class="muted">origin {lm.origin}, {len(lm.targets)}&times;{len(lm.targets[0]) if lm.targets else 0}'
            f" cells, read at {lm.read_voltage:g} V. Converged {st['converged']}, failed {st['failed']}, stuck "
            f"{st['stuck']}, pending {st['pending']}; mean |error| {_num(1e6 * float(st['mean_abs_error_S']))} uS, "
            f"mean relative error {_pct(float(st['mean_rel_error']))}, p99 {_pct(float(st['p99_rel_error']))}."
            " Stuck cells: red &times;; failed cells: magenta +.</p>")
        parts.append(_img(maps_figure(lm), f"{lm.layer} {lm.stage} maps"))
    return "".join(parts) or "<p>No maps.</p>"


def _programming(r: Report) -> str:
    if not r.programming:
        return "<p>No programming passes.</p>"
    rows = []
    for p in r.programming:
        q = p.pulses_per_cell
        rows.append([_e(p.layer), _e(p.crossbar), _e(p.stage), str(p.cells), str(p.converged), str(p.failed),
                     str(p.stuck), _pct(p.converged_fraction), str(p.pulses_total), _num(q.get("mean"), ".1f"),
                     _num(q.get("p50"), ".0f"), _num(q.get("p99"), ".0f"), _num(q.get("max"), ".0f"),
                     _num(p.wall_seconds, ".1f"), _num(p.bench_seconds, ".1f")])
    head = ["layer", "crossbar", "stage", "cells", "converged", "failed", "stuck", "converged %", "pulses",
            "pulses/cell mean", "p50", "p99", "max", "wall s", "est. real-bench s"]  # run ids: the Runs table
    out = _table(head, rows, left=3) + _img(pulses_figure(r.programming), "pulses per cell")
    return out + "".join(_levels(p) for p in r.programming if p.levels)


def _levels(p: ProgramPass) -> str:
    """Per-level table and histogram of the final conductances of a multi-level pass."""
    rows = [[_num(lv.target * 1e6, ".2f"), str(lv.cells), str(lv.converged), str(lv.within),
             _pct(lv.within / lv.cells if lv.cells else None), _num(lv.mean * 1e6, ".2f"), _num(lv.std * 1e6, ".2f"),
             _num(lv.min * 1e6, ".2f"), _num(lv.max * 1e6, ".2f"), _num(lv.pulses_mean, ".1f")] for lv in p.levels]
    head = ["target µS", "cells", "converged", "within tol.", "within %", "mean µS", "std µS", "min µS", "max µS",
            "pulses/cell"]
    return (f"<h3>Levels: {_e(p.layer)} / {_e(p.stage)}</h3>" + _table(head, rows, left=0)
            + _img(levels_figure(p), f"{p.layer} {p.stage} levels"))


def _layer_errors(r: Report) -> str:
    if not r.layer_errors:
        return "<p>No bench inference.</p>"
    rows = []
    for e in r.layer_errors:
        scale, unit = (1e3, "mV") if e.unit == "V" else (1.0, e.unit)
        rows.append([_e(e.layer), _e(e.stage), _e(e.reference), str(e.n_outputs), str(e.n_vectors),
                     f"{scale * e.max_error:.1f}", f"{scale * e.mean_error:.1f}", f"{scale * e.std_error:.1f}",
                     _e(unit)])
    head = ["network layer", "stage", "compared with", "# of outputs", "vectors", "maximum error", "mean error",
            "error std", "unit"]
    return '<table id="layer-error-table"' + _table(head, rows, left=3)[6:]


def _retraining(r: Report) -> str:
    t = r.retraining
    if t is None:
        return "<p>No retraining in this report.</p>"
    rows = [[_e(k), str(t.cells_to_program.get(k, 0)), str(t.cells_total.get(k, "")), str(t.fixed_cells.get(k, ""))]
            for k in sorted(set(t.cells_to_program) | set(t.cells_total))]
    verdict = "" if t.applied else " No gain predicted on noisy training letters: nothing was reprogrammed."
    return (f"<p>{_e(t.method)}, {t.epochs} epochs. Offline accuracy on the measured maps "
            f"{_pct(t.accuracy_on_measured_maps)}; predicted once reprogrammed: {_pct(t.predicted_accuracy)}."
            f"{verdict}</p>"
            + _table(["layer", "cells to reprogram", "cells", "stuck/failed cells kept as measured"], rows)
            + _passes(t) + _periphery(t))


def _periphery(t: Any) -> str:
    """The amplifiers' bias currents and gains refit to the chip as read (no cell reprogrammed)."""
    if not t.periphery:
        return ""
    rows = [[_e(stage), f"{f['errors_before']} &rarr; {f['errors_after']}",
             f"{f['selection_before']:.4f} &rarr; {f['selection_after']:.4f}",
             "yes" if f["applied"] else "no (no fewer letters wrong): the periphery in use stays",
             f"{_pct(f['accuracy_before'])} &rarr; {_pct(f['accuracy_after'])}"] for stage, f in t.periphery.items()]
    return ("<p>Periphery refit to the chip as read (amplifier bias currents and feedback-resistance trims; no cell "
            "reprogrammed), kept only when fewer noisy training letters are wrong.</p>"
            + _table(["refit", "noisy training letters wrong", "selection loss", "kept", "offline on the read maps"],
                     rows, left=1))


def _passes(t: Any) -> str:
    """One row per retraining pass (a loop with more than one pass)."""
    if len(t.passes) < 2:
        return ""
    rows = [[str(q["pass"]), _errors(q), _pct(q["on_chip_as_read"]), _pct(q["predicted"]),
             _e(", ".join(f"{k} {v}" for k, v in sorted(q["cells_to_program"].items()))),
             "yes" if q["applied"] else "no (no gain on noisy training letters)"] for q in t.passes]
    return ("<p>Passes: each retrains on the chip as read after the one before, and reprograms only when the "
            "retrained network's selection loss on noisy training letters (the reprogramming's failures drawn) is "
            "lower than the chip's as read and it gets fewer of those letters wrong; the test images decide "
            "nothing.</p>"
            + _table(["pass", "selection loss (letters wrong): as read &rarr; predicted", "test images offline on "
                      "the chip as read", "predicted once reprogrammed", "cells to reprogram", "reprogrammed"], rows))


def _errors(q: dict[str, Any]) -> str:
    """A pass's selection loss and noisy training letters wrong, as read -> predicted ('-' in reports from before
    they were kept)."""
    if q.get("selection_as_read") is None or q.get("selection_predicted") is None:
        return "-"
    return (f"{q['selection_as_read']:.3f} ({q['errors_as_read']:.0f}) &rarr; {q['selection_predicted']:.3f} "
            f"({q['errors_predicted']:.0f})")


def _forming(r: Report) -> str:
    from labctl.report._forming import forming_figure

    parts = []
    for fm in r.forming:
        c, v = fm.counts(), fm.v_form_stats()
        parts.append(f"<h3>{_e(fm.crossbar)} &middot; run {_e(fm.run_id or '')}</h3>")
        parts.append(
            f'<p class="muted">origin {fm.origin}, {len(fm.status)}&times;{len(fm.status[0]) if fm.status else 0} '
            f"cells. Formed {c['formed']}, virgin (stuck OFF) {c['virgin']}, over-formed (stuck ON) "
            f"{c['overformed']}, moved but not formed {c['unformed']}; forming voltage median "
            f"{_num(v['median'])} V (p10 {_num(v['p10'])}, p90 {_num(v['p90'])}).</p>")
        parts.append(_img(forming_figure(fm), f"{fm.crossbar} forming voltage map"))
        fails = [[str(fm.origin[0] + i), str(fm.origin[1] + j), _e(s)] for i, row in enumerate(fm.status)
                 for j, s in enumerate(row) if s not in ("formed", "")]
        if fails:
            parts.append('<table id="forming-failures"' + _table(["row", "col", "failure"], fails[:200], left=3)[6:])
    return "".join(parts)


def _kv(d: dict[str, Any]) -> str:
    return _table(["key", "value"], [[_e(k), _e(v if not isinstance(v, float) else f"{v:.4g}")]
                                     for k, v in d.items()], left=2)


def render_html(report: Report) -> str:
    """The report as one HTML document (no external resources, no scripts). A section with nothing to show (a plain
    ``program`` run has no model, accuracy, inference or retraining) is left out, not printed empty."""
    runs = _table(["run", "protocol", "crossbar", "stage"],
                  [[f'<span class="id">{_e(x.get("id", ""))}</span>', _e(x.get("protocol", "")),
                    _e(x.get("crossbar", "")), _e(x.get("stage", ""))] for x in report.runs], left=4)
    runs = runs.replace('<td class="l"><span class="id">', '<td class="l id"><span class="id">')
    notes = "".join(f"<li>{_e(n)}</li>" for n in report.notes)
    sections = [
        f"<h1>{_e(report.title)}</h1>",
        f'<p class="muted">Created {_e(report.created)}.</p>',
        f"<ul>{notes}</ul>" if notes else "",
    ]
    optional: list[tuple[str, bool, Callable[[], str]]] = [
        ("Model", bool(report.model), lambda: _kv({k: (json.dumps(v) if isinstance(v, (dict, list)) else v)
                                                  for k, v in report.model.items()})),
        ("Accuracy", bool(report.accuracy), lambda: _accuracy(report)),
        ("Conductance maps: target vs measured", bool(report.maps), lambda: _maps(report)),
        ("Fault map and placement", bool(report.placement),
         lambda: placement_html(report.placement, report.fault_maps)),
        ("Programming", bool(report.programming), lambda: _programming(report)),
        ("Per-layer output error: offline model vs bench inference", bool(report.layer_errors),
         lambda: _layer_errors(report)),
        ("Chip-in-the-loop retraining", report.retraining is not None, lambda: _retraining(report)),
        ("Forming", bool(report.forming), lambda: _forming(report)),
        ("Timing", bool(report.timing), lambda: _kv(report.timing)),
        ("Runs", bool(report.runs), lambda: runs),
    ]
    for title, present, body in optional:
        if present:
            sections += [f"<h2>{title}</h2>", body()]
    sections += [
        "<h2>Reproduce</h2>",
        f"<details open><summary>parameters</summary><pre>{_e(json.dumps(report.parameters, indent=1))}</pre>"
        "</details>",
        f"<details><summary>bench snapshot</summary><pre>{_e(json.dumps(report.bench_snapshot, indent=1))}</pre>"
        "</details>",
    ]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(report.title)}</title><style>{_CSS}</style></head><body>"
            + "\n".join(sections) + "</body></html>\n")


def write_report(report: Report, out: str | Path) -> tuple[Path, Path]:
    """Write ``out`` (HTML; ``.html`` added when missing) and its JSON twin beside it; returns both paths."""
    return write_twin(render_html(report), report.to_json(), out)


def write_twin(html: str, json_text: str, out: str | Path) -> tuple[Path, Path]:
    """Write ``html`` to ``out`` (``.html`` added when missing) and ``json_text`` beside it; returns both paths."""
    p = Path(out)
    if p.suffix.lower() not in (".html", ".htm"):
        p = p.with_name(p.name + ".html")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(html, encoding="utf-8")
    j = p.with_suffix(".json")
    j.write_text(json_text, encoding="utf-8")
    return p, j
