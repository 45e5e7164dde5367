"""``labctl config schema|check`` and ``labctl sim serve``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from labctl.bench import CONFIGS
from labctl.cli import cli


def test_config_schema_and_check(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["config", "schema"])
    assert r.exit_code == 0
    assert "crossbars" in json.loads(r.output)["properties"]
    r = CliRunner().invoke(cli, ["config", "check", str(CONFIGS / "example_lab_bench.yaml")])
    assert r.exit_code == 0
    assert "OK (real bench" in r.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("limits: {read_clamp: 9}\ninstruments: {}\ncrossbars: {}\n")
    p = subprocess.run([sys.executable, "-m", "labctl", "config", "check", str(bad)], capture_output=True, text=True,
                       timeout=60, check=False)
    assert p.returncode == 2
    assert "limits.read_clamp: got 9" in p.stderr


def test_sim_serve_prints_resources() -> None:
    r = CliRunner().invoke(cli, ["sim", "serve", "--duration", "0.1"])
    assert r.exit_code == 0, r.output
    lines = [ln.split("\t") for ln in r.output.splitlines() if "\t" in ln]
    assert {ln[0] for ln in lines} >= {"smu0", "matrix0a", "matrix0c", "smu1_aux"}
    assert any(ln[2].startswith("TCPIP::127.0.0.1::") and ln[2].endswith("::SOCKET") for ln in lines)
    assert any(ln[2].startswith("ASRLsocket://127.0.0.1:") for ln in lines)
