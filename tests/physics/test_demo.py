"""``labctl demo`` writes its plots (I-V, pulse train, IR drop of a 64x64 read) and prints their paths."""

from __future__ import annotations

from click.testing import CliRunner

from labctl.cli.demo import command


def test_demo_writes_plots(tmp_path):
    result = CliRunner().invoke(command, ["--out", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    assert "IR drop of a 64x64 read" in result.output
    for name in ("iv_hysteresis.png", "pulse_train.png", "ir_drop_64x64.png"):
        path = tmp_path / "demo" / name
        assert str(path) in result.output
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
