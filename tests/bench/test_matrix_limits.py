"""The bench config refuses a switch matrix that cannot be bought or wired, naming the model and its limit."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from labctl.bench import CONFIGS, DEFAULT_CONFIG
from labctl.cli import cli
from labctl.core import ConfigError
from labctl.core.config import load_bench_config, parse_bench_config
from labctl.core.matrix_models import MATRIX_MODELS


def _default() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DEFAULT_CONFIG.read_text())
    return data


def _refused(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as exc:
        parse_bench_config(data)
    return str(exc.value)


def test_models_declare_their_cards_and_slots() -> None:
    b2201a, k707b = MATRIX_MODELS["keysight_b2201a"], MATRIX_MODELS["keithley_707b"]
    card = b2201a.card(None)
    assert card is not None
    assert (card.name, card.inputs, card.outputs) == ("B2211A", 14, 12)
    assert (b2201a.slots, b2201a.inputs) == (4, 14)
    card = k707b.card("7174a")
    assert card is not None
    assert (card.inputs, card.outputs) == (8, 12)
    assert (k707b.slots, k707b.inputs) == (6, 8)


def test_a_b2201a_card_with_64_outputs_is_refused() -> None:
    data = _default()
    data["instruments"]["matrix0a"]["outputs_per_card"] = 64
    msg = _refused(data)
    assert "instruments.matrix0a.outputs_per_card = 64 is invalid for the Keysight B2201A (keysight_b2201a): " \
           "a B2211A card has 12 outputs" in msg


def test_a_15th_matrix_input_is_refused() -> None:
    data = _default()
    data["crossbars"]["xbar0"]["wiring"]["inputs"].append({"input": 15, "source": "smu0_aux", "roles": ["spare"]})
    msg = _refused(data)
    assert ("crossbars.xbar0.wiring.inputs[5].input = 15 is out of range: matrix0a is a Keysight B2201A "
            "(keysight_b2201a) with 14 inputs; allowed [1, 14]") in msg
    data = _default()
    data["instruments"]["matrix1b"]["inputs"] = 15
    assert "instruments.matrix1b.inputs = 15 is out of range for the Keysight B2201A" in _refused(data)


def test_slots_card_types_and_707b_rows_are_checked() -> None:
    data = _default()
    data["instruments"]["matrix0b"]["cards"] = 5
    data["instruments"]["matrix1c"]["card"] = "B2210A"
    msg = _refused(data)
    lines = msg.splitlines()
    assert lines[0].endswith("2 error(s)")  # the unknown card does not cascade into wiring errors
    assert "instruments.matrix0b.cards = 5 is out of range for the Keysight B2201A (keysight_b2201a): it has 4 " \
           "slots; allowed [1, 4]" in lines
    assert any(ln.startswith("instruments.matrix1c.card = 'B2210A' is not a card of the Keysight B2201A") and
               ln.endswith("allowed: B2211A") for ln in lines)
    lab = yaml.safe_load((CONFIGS / "example_lab_bench.yaml").read_text())
    lab["instruments"]["k707b"].update(cards=7, inputs=9)
    msg = _refused(lab)
    assert "instruments.k707b.cards = 7 is out of range for the Keithley 707B (keithley_707b): it has 6 slots" in msg
    assert "instruments.k707b.inputs = 9 is out of range for the Keithley 707B (keithley_707b) with 7174A cards: " \
           "8 inputs; allowed [1, 8]" in msg


def test_lines_beyond_the_mainframes_are_refused() -> None:
    data = _default()
    data["crossbars"]["xbar0"]["wiring"]["matrix"] = ["matrix0a", "matrix0b"]  # 96 outputs for 128 lines
    msg = _refused(data)
    assert ("crossbars.xbar0.wiring.cols.first_output = 65 is out of range; allowed [1, 33] (64 lines on 96 "
            "outputs of 2 mainframes: 48 + 48)") in msg
    data = _default()
    data["crossbars"]["xbar0"]["wiring"]["matrix"] = ["matrix0a", "matrix0a", "matrix0c"]
    assert "names a mainframe twice" in _refused(data)


def test_default_bench_is_three_full_b2201a_per_crossbar() -> None:
    cfg = load_bench_config(DEFAULT_CONFIG)
    for xname, xb in cfg.crossbars.items():
        frames = [cfg.instruments[m] for m in xb.wiring.matrices]
        assert len(frames) == 3, xname
        assert all((f.driver, f.card, f.cards, f.outputs_per_card, f.inputs) ==
                   ("keysight_b2201a", "B2211A", 4, 12, 14) for f in frames)
        assert sum(f.outputs for f in frames) >= xb.rows + xb.cols  # every line of the array is reachable


def test_config_check_prints_one_line_per_error_with_its_path(tmp_path: Any) -> None:
    data = _default()
    data["instruments"]["matrix0a"]["outputs_per_card"] = 64
    data["crossbars"]["xbar1"]["wiring"]["inputs"][0]["input"] = 15
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(data))
    r = subprocess.run([sys.executable, "-m", "labctl", "config", "check", str(p)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2
    out = r.stderr
    assert "2 error(s)" in out
    assert "\ninstruments.matrix0a.outputs_per_card = 64 is invalid" in out
    assert "\ncrossbars.xbar1.wiring.inputs[0].input = 15 is out of range" in out
    for name in ("sim_bench.yaml", "example_lab_bench.yaml"):
        ok = CliRunner().invoke(cli, ["config", "check", str(CONFIGS / name)])
        assert ok.exit_code == 0, ok.output
        assert ": OK (" in ok.output
