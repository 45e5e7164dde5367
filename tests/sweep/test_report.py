"""The sweep report from chip results: per-variant summaries, throughput, HTML with its plots, JSON twin."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from labctl.report import SweepReport, sweep_report, write_sweep_report


def chips() -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for k, (variant, y) in enumerate([("a", 1.0), ("a", 0.9), ("a", 0.8), ("b", 0.5), ("b", 0.7)]):
        out.append({"chip": f"{variant}-s{k}", "variant": variant, "seed": k, "attempt": 2 if k == 1 else 1,
                    "runs": [f"{variant}-s{k}-program"], "wall_s": 10.0 + k,
                    "metrics": {"yield": y, "pulses_per_cell": 5.0 + k, "program_bench_s": 2.0 * k}})
    return out


def test_summaries_per_variant_and_throughput() -> None:
    rep = sweep_report("t", {"name": "t", "job": {"kind": "protocol"}}, 6, chips(), {"c-s9": "boom"}, 1800.0, "now")
    assert rep.variants() == ["a", "b"]
    ya = next(s for s in rep.summaries if s.variant == "a" and s.metric == "yield")
    assert ya.n == 3
    assert ya.mean == pytest.approx(0.9)
    assert ya.median == pytest.approx(0.9)
    assert ya.std == pytest.approx(np.std([1.0, 0.9, 0.8], ddof=1))
    assert ya.min == 0.8
    assert ya.max == 1.0
    wb = next(s for s in rep.summaries if s.variant == "b" and s.metric == "wall_s")
    assert wb.mean == pytest.approx(13.5)
    assert rep.chips_per_hour == pytest.approx(10.0)  # 5 chips in half an hour
    assert rep.retried == ["a-s1"]
    assert rep.failed == {"c-s9": "boom"}
    assert rep.metrics() == ["yield", "pulses_per_cell", "program_bench_s", "wall_s"]  # no accuracy: not a loop
    assert any("1 of 6 chips" in n for n in rep.notes)


def test_html_and_json_twin(tmp_path: Path) -> None:
    rep = sweep_report("t", {"name": "t"}, 5, chips(), {}, 60.0, "now")
    html, js = write_sweep_report(rep, tmp_path / "sweep")
    page = html.read_text()
    assert page.count("<img") == len(rep.metrics())  # one CDF + box plot figure per metric
    assert "http" not in page.replace("http-equiv", "")  # self-contained
    assert SweepReport.from_json(js.read_text()) == rep
    assert "a-s1-program" in page
