"""Every command of the CLI, given bad arguments or bad files, ends with a clear error and a non-zero exit status,
never a traceback; ``labctl config check`` lists every error of a file at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from labctl.bench import DEFAULT_CONFIG
from labctl.cli import main

BAD_BENCH = """\
name: bad
instruments:
  smu: {driver: keysight_b2902, resource: sim}
  mat: {driver: keysight_b2201a, resource: sim}
crossbars:
  xbar0:
    rows: 8
    cols: 8
    wiring:
      matrix: nomatrix
      inputs:
        - {input: 1, source: smu, roles: [drive]}
      rows: {first_output: 1}
      cols: {first_output: 20}
sim:
  preset: stanford_v9
  params: {bogus_param: 1, I0: -1}
  nonideal: {d2d: 7, read_noise: -0.5}
  faults: {ghost: {}, phantom: {}}
"""


def _bad_sim_only(tmp: Path) -> Path:
    """The embedded bench with a broken sim section only (structure fine, physics not)."""
    text = DEFAULT_CONFIG.read_text().replace("preset: stanford_v1", "preset: stanford_v9")
    text = text.replace("d2d: 0.05", "d2d: 7").replace("read_noise: 0.01", "read_noise: -0.5")
    text = text.replace("delta_g0: 2.0e-5", "delta_g0: 2.0e-5\n    bogus_param: 1")
    path = tmp / "bad_sim.yaml"
    path.write_text(text)
    return path


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    return code, out.out + out.err


def assert_clear_error(code: int, text: str, *needles: str) -> None:
    assert code != 0, text
    assert "Traceback" not in text, text
    assert "internal error" not in text, text
    first = next(line for line in text.splitlines() if line.strip() and "━" not in line)
    assert first.lower().startswith(("error", "usage")), text
    for n in needles:
        assert n in text, (n, text)


def test_config_check_lists_every_error_with_its_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(BAD_BENCH)
    code, text = run_cli(capsys, "config", "check", str(f))
    assert_clear_error(code, text, f"{f}: 9 error(s)", "crossbars.xbar0.wiring.matrix = 'nomatrix'",
                       "limits.min_pulse_width = 1e-08 s is shorter than the Keysight B2902A's shortest pulse",
                       "sim.faults.ghost: unknown instrument", "sim.faults.phantom: unknown instrument",
                       "sim.preset = 'stanford_v9' is invalid; allowed: stanford_v1, iitm_2024",
                       "sim.params.bogus_param: unknown parameter; allowed: I0,",
                       "sim.params.I0 = -1.0 is out of range",
                       "sim.nonideal.d2d = 7.0 is out of range; allowed [0, 1]",
                       "sim.nonideal.read_noise = -0.5 is out of range")
    assert "(top level)" not in text


def test_config_check_on_a_broken_sim_section(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, text = run_cli(capsys, "config", "check", str(_bad_sim_only(tmp_path)))
    assert_clear_error(code, text, "4 error(s)", "sim.preset", "sim.params.bogus_param", "sim.nonideal.d2d",
                       "sim.nonideal.read_noise")


def test_yaml_syntax_error_names_the_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "syntax.yaml"
    f.write_text("name: x\ninstruments: [1,\n  b: 2\n")
    code, text = run_cli(capsys, "config", "check", str(f))
    assert_clear_error(code, text, f"{f}:", "not valid YAML")
    assert "<unicode string>" not in text


def test_good_config_passes(capsys: pytest.CaptureFixture[str]) -> None:
    code, text = run_cli(capsys, "config", "check", str(DEFAULT_CONFIG))
    assert code == 0
    assert "OK" in text


def _cases(tmp: Path) -> list[tuple[list[str], tuple[str, ...]]]:
    bad = _bad_sim_only(tmp)
    (tmp / "list.yaml").write_text("[1, 2]\n")
    (tmp / "binary.yaml").write_bytes(b"\xff\xfe\x00\x01")
    good = str(DEFAULT_CONFIG)
    store = str(tmp / "store")
    return [
        (["config", "check", str(tmp / "missing.yaml")], ("missing.yaml",)),
        (["config", "check", str(tmp / "list.yaml")], ("YAML mapping",)),
        (["config", "check", str(tmp / "binary.yaml")], ("binary.yaml",)),
        (["config", "nosuch"], ("nosuch",)),
        (["sim", "serve", "--config", str(bad), "--duration", "0"], ("sim.preset",)),
        (["sim", "serve", "--spin", "5"], ("--spin",)),
        (["run", "--bench", good], ("PROTOCOL",)),
        (["run", "nosuch", "--bench", good], ("nosuch", "program")),
        (["run", "program", "--bench", str(bad)], ("sim.nonideal.d2d",)),
        (["run", "program", "--bench", str(tmp / "missing.yaml")], ("--bench",)),
        (["run", "program", "--bench", good, "--set", "random_levls=4", "--store", store],
         ("did you mean 'random_levels'", "allowed: targets")),
        (["run", "program", "--bench", good, "--set", "noequals", "--store", store], ("--set",)),
        (["run", "program", "--bench", good, "--params", str(tmp / "list.yaml"), "--store", store], ("--params",)),
        (["run", "program", "--bench", good, "--params", str(tmp / "missing.yaml"), "--store", store],
         ("--params",)),
        (["run", "program", "--bench", good, "--resume", "nosuchrun", "--store", store], ("nosuchrun",)),
        (["protocols", "nosuch"], ("nosuch", "program")),
        (["runs", "show", "nosuchrun", "--store", store], ("nosuchrun",)),
        (["runs", "export", "nosuchrun", "--store", store], ("nosuchrun",)),
        (["runs", "export", "x", "--format", "xls"], ("xls",)),
        (["report", "nosuchrun", "--out", str(tmp / "r.html"), "--store", store], ("nosuchrun",)),
        (["sync", "nosuchrun", "--model", str(tmp / "nomodel")], ("nomodel",)),
        (["sync", "nosuchrun", "--model", str(tmp), "--store", store], ("nosuchrun",)),
        (["train", "nosuch"], ("nosuch",)),
        (["train", "mlp", "--epochs", "x"], ("--epochs",)),
        (["loop", "--bench", str(bad), "--out", str(tmp / "loop1")], ("sim.preset",)),
        (["loop", "--sim", "bogus=1", "--out", str(tmp / "loop2")], ("bogus",)),
        (["loop", "--sim", "params.bogus=1", "--out", str(tmp / "loop3")], ("sim.params.bogus",)),
        (["loop", "--sim", "nonideal.d2d=7", "--out", str(tmp / "loop4")], ("sim.nonideal.d2d",)),
        (["loop", "--stuck", "2", "--out", str(tmp / "loop5")], ("stuck",)),
        (["loop", "--n-test", "0", "--out", str(tmp / "loop6")], ("n_test",)),
        (["loop", "--passes", "9", "--out", str(tmp / "loop9")], ("retrain_passes", "5")),
        (["loop", "--wires", "xbar0=2.5,2.5", "--out", str(tmp / "loop7")], ("--wires", "R_CONTACT")),
        (["loop", "--wires", "xbar9=1,1,1", "--out", str(tmp / "loop8")], ("wires", "xbar9", "xbar0")),
        (["demo", "--nosuch"], ("--nosuch",)),
        (["serve", "--config", str(tmp / "missing.yaml")], ("missing.yaml",)),
        (["serve", "--port", "0"], ("--port",)),
        (["jobs", "--url", "http://127.0.0.1:9", "list"], ("cannot reach",)),
        (["jobs", "list", "--url", "http://127.0.0.1:9"], ("cannot reach",)),
        (["jobs", "submit", "program", "-p", "x", "--url", "http://127.0.0.1:9"], ("--param",)),
        (["jobs", "submit", "program", "--params-file", str(tmp / "missing.json")], ("missing.json",)),
        (["jobs", "cancel"], ("JOB_ID",)),
        (["nosuchcommand"], ("nosuchcommand",)),
    ]


def test_every_command_refuses_bad_input_without_a_traceback(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    failures = []
    for argv, needles in _cases(tmp_path):
        code, text = run_cli(capsys, *argv)
        try:
            assert_clear_error(code, text, *needles)
        except AssertionError as exc:
            failures.append(f"labctl {' '.join(argv)}: {exc}")
    assert not failures, "\n\n".join(failures)
    for k in range(1, 9):  # the loop checked its input before writing anything
        assert not (tmp_path / f"loop{k}").exists()


def test_loop_refuses_an_out_folder_holding_an_earlier_loop(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "loop"
    (out / "model").mkdir(parents=True)
    (out / "report.json").write_text("{}")
    code, text = run_cli(capsys, "loop", "--out", str(out), "--sim", "nonideal.d2d=7")
    assert_clear_error(code, text, "sim.nonideal.d2d")  # input errors first
    code, text = run_cli(capsys, "loop", "--out", str(out))
    assert_clear_error(code, text, "--force", "model", "report.json")
    assert (out / "report.json").read_text() == "{}"  # nothing removed without --force
