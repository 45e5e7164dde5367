"""The sweep spec: strict, schema-validated, every chip's bench built and checked before anything runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from labctl.cli import cli
from labctl.core.errors import ConfigError
from labctl.jobs.sweep import expand, load_spec, parse_spec, schema

BASE = {"name": "t", "seeds": [3, 4], "job": {"protocol": "program", "params": {"random_levels": 4}}}


def spec(**kw: object) -> dict[str, object]:
    return BASE | kw


def test_chips_are_seeds_times_variants_with_their_sim_override() -> None:
    s = parse_spec(spec(variants=[{"name": "a", "array": {"rows": 8, "cols": 6}},
                                  {"name": "b", "sim": {"nonideal": {"d2d": 0.2, "stuck_on": 0.01},
                                                        "params": {"delta_g0": 3e-5}}}]))
    chips = expand(s)
    assert [c.id for c in chips] == ["a-s3", "a-s4", "b-s3", "b-s4"]
    a, b = chips[0].bench, chips[3].bench
    assert a["crossbars"]["xbar0"]["rows"] == 8
    assert a["crossbars"]["xbar1"]["cols"] == 6
    assert a["sim"]["seed"] == 3
    assert b["sim"]["seed"] == 4
    assert b["sim"]["nonideal"]["d2d"] == 0.2
    assert b["sim"]["nonideal"]["stuck_on"] == 0.01
    assert b["sim"]["nonideal"]["read_noise"] == 0.01  # deep merge: the bench's other fields stay
    assert b["sim"]["params"]["delta_g0"] == 3e-5
    assert b["crossbars"]["xbar0"]["rows"] == 64


def test_seed_range_and_default_variant() -> None:
    chips = expand(parse_spec(spec(seeds={"start": 10, "count": 3})))
    assert [c.id for c in chips] == ["base-s10", "base-s11", "base-s12"]


@pytest.mark.parametrize(("data", "field"), [
    (spec(extra_key=1), "extra_key"),
    (spec(seeds=[1, 1]), "seeds"),
    (spec(seeds={"count": 0}), "seeds.Seeds.count"),
    (spec(variants=[{"name": "a"}, {"name": "a"}]), "repeated: a"),
    (spec(variants=[{"name": "a b"}]), "variants.0.name"),
    (spec(variants=[{"name": "a", "sim": {"seed": 1}}]), "sim.seed"),
    (spec(variants=[{"name": "a", "colour": 1}]), "variants.0.colour"),
    (spec(job={"kind": "loop", "options": {"out": "x"}}), "job.options.out"),
    (spec(job={"kind": "teleport"}), "job"),
    (spec(retries=-1), "retries"),
])
def test_bad_spec_names_the_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        parse_spec(data)


@pytest.mark.parametrize(("data", "field"), [
    (spec(variants=[{"name": "a", "sim": {"nonideal": {"d2d": "lots"}}}]), "sim.nonideal.d2d"),
    (spec(variants=[{"name": "a", "sim": {"timing": {"warp": 1}}}]), "sim.timing.warp"),
    (spec(job={"protocol": "program", "params": {"random_levels": 1}}), "random_levels"),
    (spec(job={"protocol": "nope"}), "protocol"),
    (spec(job={"protocol": "program", "crossbar": "xbar9", "params": {"random_levels": 4}}), "job.crossbar"),
    (spec(job={"kind": "loop", "options": {"n_test": 0}}), "n_test"),
])
def test_bad_variant_or_job_fails_at_expand(data: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        expand(parse_spec(data))


def test_bench_path_relative_to_spec_and_real_bench_refused(tmp_path: Path) -> None:
    real = yaml.safe_load(Path("configs/example_lab_bench.yaml").read_text())
    (tmp_path / "lab.yaml").write_text(yaml.safe_dump(real))
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(spec(bench="lab.yaml")))
    s, root = load_spec(tmp_path / "s.yaml")
    with pytest.raises(ConfigError, match="simulated bench"):
        expand(s, root)


def test_schema_command_prints_the_json_schema() -> None:
    res = CliRunner().invoke(cli, ["sweep", "--schema"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data == schema()
    assert data["additionalProperties"] is False
    assert {"name", "seeds", "variants", "job", "retries"} <= set(data["properties"])


def test_cli_refuses_an_out_folder_holding_a_sweep(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "sweep.json").write_text("{}")
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(spec()))
    with pytest.raises(ConfigError, match="--resume"):
        cli.main(["sweep", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out")], standalone_mode=False)


@pytest.mark.parametrize("path", sorted(Path("configs/sweeps").glob("*.yaml")))
def test_example_sweeps_are_valid(path: Path) -> None:
    s, root = load_spec(path)
    chips = expand(s, root)
    assert len(chips) == len(s.variants) * len(s.seed_list())
