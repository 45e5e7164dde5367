"""Bench configuration: the shipped configs validate; bad input names every field, value and range."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from labctl.bench import CONFIGS, DEFAULT_CONFIG
from labctl.core import ConfigError
from labctl.core.config import BenchConfig, load_bench_config, parse_bench_config


@pytest.mark.parametrize("name", ["sim_bench.yaml", "example_lab_bench.yaml"])
def test_shipped_configs_validate(name: str) -> None:
    cfg = load_bench_config(CONFIGS / name)
    assert isinstance(cfg, BenchConfig)
    assert cfg.simulated == (name == "sim_bench.yaml")


def test_default_sim_bench_has_two_64x64_crossbars_with_noise_on() -> None:
    cfg = load_bench_config(DEFAULT_CONFIG)
    assert {n: (x.rows, x.cols) for n, x in cfg.crossbars.items()} == {"xbar0": (64, 64), "xbar1": (64, 64)}
    assert cfg.sim is not None
    assert cfg.sim.preset == "stanford_v1"
    assert cfg.sim.nonideal["d2d"] > 0
    assert cfg.sim.nonideal["read_noise"] > 0
    assert cfg.sim.nonideal["c2c"]


def test_every_error_is_listed_with_path_and_range(tmp_path: Path) -> None:
    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    data["limits"]["read_clamp"] = 5.0
    data["instruments"]["smu0"]["timeout"] = -1
    data["instruments"]["smu0"]["colour"] = "red"
    data["crossbars"]["xbar0"]["wiring"]["rows"]["first_output"] = 100
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as exc:
        load_bench_config(p)
    msg = str(exc.value)
    assert "limits.read_clamp" in msg
    assert "less than or equal to 1" in msg
    assert "instruments.smu0.timeout" in msg
    assert "greater than 0" in msg
    assert "instruments.smu0.colour" in msg
    # a semantic error reported only once the fields are valid
    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    data["crossbars"]["xbar0"]["wiring"]["rows"]["first_output"] = 100
    data["instruments"]["smu0_aux"]["limits"]["compliance"] = 2.0
    with pytest.raises(ConfigError) as exc:
        parse_bench_config(data)
    msg = str(exc.value)
    assert "crossbars.xbar0.wiring.rows.first_output = 100 is out of range; allowed [1, 81]" in msg
    assert "instruments.smu0_aux.limits.compliance = 2 A is out of range" in msg


def test_wiring_must_provide_the_roles() -> None:
    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    data["crossbars"]["xbar1"]["wiring"]["inputs"] = [
        i for i in data["crossbars"]["xbar1"]["wiring"]["inputs"] if "ground" not in i["roles"]
    ]
    with pytest.raises(ConfigError, match="role 'ground'"):
        parse_bench_config(data)


def test_schema_is_exported() -> None:
    schema = BenchConfig.model_json_schema()
    assert "instruments" in schema["properties"]
    assert "SafetyLimits" in schema["$defs"]
