"""``labctl demo`` writes its two plots and prints their paths."""

from __future__ import annotations

from click.testing import CliRunner

from labctl.cli.demo import command


def test_demo_writes_plots(tmp_path):
    result = CliRunner().invoke(command, ["--out", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    for name in ("iv_hysteresis.png", "pulse_train.png"):
        path = tmp_path / "demo" / name
        assert str(path) in result.output
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
