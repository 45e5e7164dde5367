"""What a person sees: the report rendered by headless Chromium (no network), table text and decoded images.

Chromium is the Debian package ``chromium`` (``scripts/bootstrap.sh`` installs it when missing, as root with
apt). The report has no script of its own; the test renders a copy with a tiny probe that writes every image's
decoded size into the DOM, dumps the DOM, and takes a screenshot of the original page.
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
          'function(i){r.push(i.naturalWidth+"x"+i.naturalHeight)});var p=document.createElement("pre");'
          'p.id="probe";p.textContent="IMAGES="+r.join(",")+";";document.body.appendChild(p)});</script>')


def _chromium() -> str:
    for c in (os.environ.get("LABCTL_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium",
              shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if c and Path(c).exists():
            return c
    pytest.skip("headless Chromium not installed (scripts/bootstrap.sh installs the 'chromium' package as root)")


def _run(chrome: str, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp / 'profile'}", "--virtual-time-budget=5000"]
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

    shot = tmp_path / "shot.png"
    res = _run(chrome, tmp_path, f"--screenshot={shot}", "--window-size=1280,1600", html_path.as_uri())
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
