"""What a person sees: the report rendered by headless Chromium (no network), table text and decoded images.

Chromium is the Debian package ``chromium`` (``scripts/test.sh`` installs it when missing, as root with apt). The
report has no script of its own; the test renders a copy with a tiny probe that writes every image's decoded size,
every element wider than the 1280 px window and the height of every run-id cell into the DOM, dumps the DOM, and
takes a screenshot of the original page.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from labctl.report import write_report
from tests.report.synthetic import synthetic_report

_PROBE = ('<script>window.addEventListener("load",function(){var r=[];document.querySelectorAll("img").forEach('
          'function(i){r.push(i.naturalWidth+"x"+i.naturalHeight)});'
          'var w=document.documentElement.clientWidth,o=[];document.querySelectorAll("body *").forEach(function(e){'
          'if(e.getBoundingClientRect().right>w+1){o.push(e.tagName+(e.id?"#"+e.id:""))}});'
          'var h=[];document.querySelectorAll("td.id").forEach(function(e){h.push(Math.round('
          'e.getBoundingClientRect().height))});var p=document.createElement("pre");'
          'p.id="probe";p.textContent="IMAGES="+r.join(",")+";OVER="+o.join(",")+";IDH="+h.join(",")+";W="+w+";";'
          'document.body.appendChild(p)});</script>')


def _chromium() -> str:
    for c in (os.environ.get("LABCTL_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium",
              shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if c and Path(c).exists():
            return c
    pytest.skip("headless Chromium not installed (scripts/bootstrap.sh installs the 'chromium' package as root)")


def _run(chrome: str, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp / 'profile'}", "--virtual-time-budget=5000", "--window-size=1280,1600",
             "--hide-scrollbars"]
    return subprocess.run([chrome, *flags, *args], capture_output=True, text=True, timeout=90, check=False)


def test_report_renders_in_headless_chromium(tmp_path):
    chrome = _chromium()
    html_path, _ = write_report(synthetic_report(), tmp_path / "report.html")
    probe = tmp_path / "probe.html"
    probe.write_text(html_path.read_text().replace("</body>", _PROBE + "</body>"))
    dom = _run(chrome, tmp_path, "--dump-dom", probe.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    text = re.sub(r"<[^>]+>", " ", dom.stdout)
    for expected in ("measured crossbar acc.", "before retraining", "after retraining", "80.6 %", "78.8 %",
                     "98.8 %", "99.4 %"):
        assert expected in text
    sizes = re.search(r"IMAGES=([0-9x,]*);", dom.stdout)
    assert sizes is not None, "the probe did not run"
    dims = [tuple(int(v) for v in s.split("x")) for s in sizes.group(1).split(",")]
    assert len(dims) == 4
    assert all(w > 0 and h > 0 for w, h in dims)
    _assert_fits(dom.stdout)

    shot = tmp_path / "shot.png"
    res = _run(chrome, tmp_path, f"--screenshot={shot}", html_path.as_uri())
    assert res.returncode == 0, res.stderr[-2000:]
    assert shot.exists()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image as mpimg

    px = np.asarray(mpimg.imread(shot))[..., :3]
    assert px.shape[0] == 1600
    assert px.shape[1] == 1280
    non_white = (px < 0.9).any(axis=-1).mean()
    assert 0.02 < non_white < 0.9  # text, tables and plots, not a blank page
    assert len(np.unique(px.reshape(-1, 3), axis=0)) > 50  # colour plots, not just black text


def _assert_fits(dom: str) -> None:
    """At 1280 px nothing is wider than the window, and every run id stays on one line."""
    probe = re.search(r"OVER=([^;]*);IDH=([0-9,]*);W=([0-9]+);", dom)
    assert probe is not None, "the probe did not run"
    assert int(probe.group(3)) >= 1200  # the 1280 px window (less a scroll bar)
    assert probe.group(1) == "", f"wider than the window: {probe.group(1)}"
    heights = [int(h) for h in probe.group(2).split(",") if h]
    assert heights, "no run id cells"
    assert max(heights) < 2 * min(heights) + 4, heights  # one line each, however long the id


def test_plain_program_report_fits_and_has_no_empty_sections(tmp_path):
    """A ``program`` run's report: maps, programming and runs only; long run ids on one line; fits 1280 px."""
    from labctl.report import Report

    full = synthetic_report()
    run_id = "20261205-062011-program-4f2a9c"
    for p in full.programming:
        p.run_id = run_id
    rep = Report(created=full.created, title="labctl report of stored runs", maps=[full.maps[0]],
                 programming=full.programming, bench_snapshot=full.bench_snapshot,
                 runs=[{"id": run_id, "protocol": "program", "crossbar": "xbar0", "stage": "completed"},
                       {"id": run_id.replace("program", "read_map"), "protocol": "read_map", "crossbar": "xbar0",
                        "stage": "completed"}])
    rep.maps[0].layer = rep.maps[0].crossbar = "xbar0"
    html_path, _ = write_report(rep, tmp_path / "report.html")
    page = html_path.read_text()
    for absent in ("<h2>Model</h2>", "<h2>Accuracy</h2>", "<h2>Timing</h2>", "None.", "xbar0 on xbar0"):
        assert absent not in page, absent
    chrome = _chromium()
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", _PROBE + "</body>"))
    dom = _run(chrome, tmp_path, "--dump-dom", probe.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    text = re.sub(r"<[^>]+>", " ", dom.stdout)
    assert run_id in text
    _assert_fits(dom.stdout)
