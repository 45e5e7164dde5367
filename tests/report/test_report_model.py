"""The report model, its JSON twin and the self-contained HTML, on synthetic data."""

from __future__ import annotations

import base64
import json
import re
import struct

import numpy as np
import pytest
from pydantic import ValidationError

from labctl.report import AccuracyRow, LayerMaps, Report, render_html, write_report
from tests.report.synthetic import synthetic_report


def test_json_twin_has_the_same_numbers(tmp_path):
    rep = synthetic_report()
    html_path, json_path = write_report(rep, tmp_path / "r.html")
    assert html_path.exists()
    assert json_path.name == "r.json"
    d = json.loads(json_path.read_text())
    assert Report.from_json(json_path.read_text()) == rep
    before = next(r for r in d["accuracy"] if r["stage"] == "before retraining")
    assert before["drop"] == pytest.approx(0.99375 - 0.9875)
    # error statistics in the twin are the ones numpy computes from the maps themselves
    lm = rep.maps[0]
    t, m, s = lm.arrays()
    ok = np.isfinite(t) & np.isfinite(m)
    assert d["maps"][0]["error_stats"]["mean_abs_error_S"] == pytest.approx(float(np.abs(m - t)[ok].mean()))
    assert d["maps"][0]["error_stats"]["stuck"] == int((s == "stuck").sum()) == 1
    assert d["maps"][0]["measured"][1][2] is None  # NaN (unread cell) -> null, valid JSON
    assert d["programming"][0]["converged_fraction"] == pytest.approx(1000 / 1024)


def test_html_is_self_contained_with_decodable_pngs():
    page = render_html(synthetic_report())
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    uris = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(uris) == 4  # accuracy bars, two layers' maps, pulses histogram
    for u in uris:
        png = base64.b64decode(u)
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        w, h = struct.unpack(">II", png[16:24])
        assert w > 100
        assert h > 100
    # the accuracy table as the seed presents it
    table = page[page.index('id="accuracy-table"'):]
    table = table[:table.index("</table>")]
    for text in ("software acc.", "measured crossbar acc.", "drop", "80.6 %", "78.8 %", "1.8 %", "98.8 %", "0.6 %"):
        assert text in table
    # the output-error table in mV (1.2e-2 V max, 3.4e-3 V mean of fc1)
    errors = page[page.index('id="layer-error-table"'):]
    errors = errors[:errors.index("</table>")]
    assert "<td>12.0</td><td>3.4</td><td>2.0</td><td>mV</td>" in errors
    assert "e-0" not in errors


def test_text_is_escaped():
    rep = synthetic_report()
    rep.notes.append("<script>alert(1)</script>")
    page = render_html(rep)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)" in page


def test_bad_values_name_the_field():
    with pytest.raises(ValidationError, match="software"):
        AccuracyRow(stage="x", software=1.5)
    with pytest.raises(ValidationError, match="broken"):
        LayerMaps.from_arrays("fc1", "xbar0", "initial", np.ones((1, 2)), np.ones((1, 2)),
                              np.array([["converged", "broken"]]), 0.1)
    with pytest.raises(ValidationError, match="extra"):
        Report.model_validate({"created": "now", "unknown": 1})


def test_retraining_passes_are_tabled_when_there_are_several():
    r = synthetic_report()
    assert "Passes:" not in render_html(r)
    assert r.retraining is not None
    r.retraining.passes = [
        {"pass": 1, "on_chip_as_read": 0.78125, "predicted": 0.98125, "cells_to_program": {"fc1": 237, "fc2": 52},
         "selection_as_read": 0.552, "selection_predicted": 0.54, "errors_as_read": 4.0, "errors_predicted": 2.0,
         "applied": True},
        {"pass": 2, "on_chip_as_read": 0.975, "predicted": 0.975, "cells_to_program": {"fc1": 12, "fc2": 0},
         "applied": False}]  # a report from before the selection losses were kept
    page = render_html(r)
    assert "Passes:" in page
    assert "fc1 237, fc2 52" in page
    assert "0.552 (4) &rarr; 0.540 (2)" in page
    assert "no (no gain on noisy training letters)" in page
    assert Report.from_json(r.to_json()).retraining.passes == r.retraining.passes
