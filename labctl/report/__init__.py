"""Measured-vs-trained reports: a typed model, a self-contained HTML page and its JSON twin.

Public API::

    Report, AccuracyRow, LayerMaps, ProgramPass, LayerError, Retraining   # the data (pydantic, extra=forbid)
    render_html(report) -> str                                            # inline CSS, PNGs as data URIs
    write_report(report, "out/report.html") -> (html_path, json_path)     # JSON twin: same numbers
    Report.from_json(text)                                                # read a twin back
    report_from_runs(store_root, run_ids) -> Report                       # rebuild from stored runs
    sweep_report(...) -> SweepReport; write_sweep_report(rep, path)       # distributions across a sweep's chips

The HTML contains no script and no external reference; matplotlib (Agg) is imported only when rendering.
"""

from labctl.report._html import render_html, write_report
from labctl.report._model import AccuracyRow, LayerError, LayerMaps, ProgramPass, Report, Retraining
from labctl.report._runs import REPORT_RESULT, report_from_runs
from labctl.report._sweep import SWEEP_PROTOCOL, SweepReport, sweep_report, sweep_report_from_run
from labctl.report._sweep_html import distribution_figure, render_sweep_html, write_sweep_report

__all__ = [
    "REPORT_RESULT",
    "SWEEP_PROTOCOL",
    "AccuracyRow",
    "LayerError",
    "LayerMaps",
    "ProgramPass",
    "Report",
    "Retraining",
    "SweepReport",
    "distribution_figure",
    "render_html",
    "render_sweep_html",
    "report_from_runs",
    "sweep_report",
    "sweep_report_from_run",
    "write_report",
    "write_sweep_report",
]
