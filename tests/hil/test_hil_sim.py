"""CI proves the hardware tier: ``labctl sim serve`` runs as a separate process, and the checks run against a bench
YAML that names its instruments only by their resource strings (no ``sim`` section), as they would a real bench.
Faults a technician meets (a stuck relay, a miswired input, a wrong instrument on a resource, a compliance the
instrument does not accept) each fail the right check with an actionable message."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from labctl.bench import DEFAULT_CONFIG, SimProcess
from labctl.core.config import BenchConfig, load_bench_config
from labctl.hil import HilReport, Status, run_hil

ROOT = Path(__file__).resolve().parents[2]
HIL = {"test_area": {"crossbar": "xbar0", "origin": [2, 3], "shape": [3, 4]},
       "expected": {"min": 1e-6, "max": 5e-3, "fraction": 0.9}, "program_levels": [20e-6, 80e-6]}


@pytest.fixture(scope="module")
def served() -> Iterator[SimProcess]:
    with SimProcess(load_bench_config(DEFAULT_CONFIG)) as sp:
        yield sp


def _bench(sp: SimProcess, edit: Any = None) -> dict[str, Any]:
    data = sp.served_config().model_dump(mode="json", exclude_none=True)
    data["hil"] = HIL
    if edit is not None:
        edit(data)
    return data


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(data))
    assert "sim" not in yaml.safe_load(path.read_text())
    return path


def _run(data: dict[str, Any], tmp_path: Path, **kw: Any) -> HilReport:
    return asyncio.run(run_hil(BenchConfig.model_validate(data), out=tmp_path, **kw))


def _statuses(rep: HilReport) -> dict[str, str]:
    return {r.key: str(r.status) for r in rep.results}


def test_cli_passes_a_healthy_bench_and_programs_the_test_area(served: SimProcess, tmp_path: Path) -> None:
    path = _write(tmp_path, _bench(served))
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "labctl", "hil", "--bench", str(path), "--allow-program",
                           "--out", str(out)], capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((out / "hil.json").read_text())
    assert [c["status"] for c in report["checks"]] == ["pass"] * 6
    prog = report["checks"][-1]["data"]
    assert prog["cells"] == 12
    assert prog["converged"] >= 11
    assert (out / "hil.html").read_text().count("<tr>") == 7
    assert "[PASS] Instruments answer" in proc.stdout


def test_default_is_non_destructive(served: SimProcess, tmp_path: Path) -> None:
    rep = _run(_bench(served), tmp_path)
    assert rep.ok
    assert rep.result("program").status == Status.SKIP
    assert "--allow-program" in rep.result("program").summary
    limits = rep.result("limits").evidence
    assert any("refused, nothing sent" in e and "read clamp" in e for e in limits)
    assert any("current limit reads back" in e for e in limits)


def test_pytest_tier_runs_against_the_served_bench(served: SimProcess, tmp_path: Path) -> None:
    path = _write(tmp_path, _bench(served))
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider",
                           str(ROOT / "tests" / "hardware"), "--bench-config", str(path)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, env=env, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "5 passed, 1 skipped" in proc.stdout  # program is skipped without --allow-program


def test_stuck_relay_fails_routing(served: SimProcess, tmp_path: Path) -> None:
    served.set_fault("matrix0a", stuck_relays=[(1, 3)])  # the drive input never reaches row 2
    try:
        rep = _run(_bench(served), tmp_path)
    finally:
        served.set_fault("matrix0a")
    st = _statuses(rep)
    assert st["identity"] == st["limits"] == "pass"
    assert st["routing"] == "fail"
    assert st["safe_state"] == st["map_read"] == st["program"] == "skip"
    msg = rep.result("routing").summary
    assert "stuck relay" in msg
    assert "input 1, output 3" in msg
    assert "service the matrix" in msg


def test_miswired_input_fails_routing(served: SimProcess, tmp_path: Path) -> None:
    def swap(data: dict[str, Any]) -> None:  # the config says drive is on input 4; the cable is on input 1
        for w in data["crossbars"]["xbar0"]["wiring"]["inputs"]:
            w["input"] = {1: 4, 4: 1}.get(w["input"], w["input"])

    rep = _run(_bench(served, swap), tmp_path)
    assert _statuses(rep)["routing"] == "fail"
    msg = rep.result("routing").summary
    assert "no current through any line" in msg
    assert "input 4" in msg
    assert "check those cables" in msg


def test_wrong_instrument_fails_identity(served: SimProcess, tmp_path: Path) -> None:
    def swap(data: dict[str, Any]) -> None:  # a 2450 answers where the config expects the B2902
        ins = data["instruments"]
        ins["smu0"]["resource"], ins["smu0_aux"]["resource"] = ins["smu0_aux"]["resource"], ins["smu0"]["resource"]

    rep = _run(_bench(served, swap), tmp_path)
    st = _statuses(rep)
    assert st["identity"] == "fail"
    assert all(v == "skip" for k, v in st.items() if k != "identity")
    msg = rep.result("identity").summary
    assert msg.startswith("smu0:")
    assert "2450" in msg
    assert "B2902A" in msg
    assert "check which instrument" in msg


def test_compliance_the_instrument_cannot_source_is_refused_by_the_bench_config(served: SimProcess,
                                                                              tmp_path: Path) -> None:
    """1.5 A is more than a 2450 can source (1.05 A): the bench config refuses it, naming the model's limit
    (``labctl.core.smu_limits``), before any instrument is asked (issue 11)."""
    from labctl.core.errors import ConfigError

    data = _bench(served)
    data["limits"]["compliance"] = 1.5
    data["instruments"]["smu0_aux"]["limits"] = {"compliance": 1.5}
    with pytest.raises((ConfigError, ValueError), match=r"instruments.smu0_aux.limits.compliance = 1.5 A exceeds "
                                                         r"the Keithley 2450's current maximum"):
        BenchConfig.model_validate(data)
    path = _write(tmp_path, data)  # and `labctl hil` says so in one line, with a non-zero exit
    proc = subprocess.run([sys.executable, "-m", "labctl", "hil", "--bench", str(path), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "exceeds the Keithley 2450's current maximum" in proc.stderr


def test_a_simulated_bench_is_refused(tmp_path: Path) -> None:
    from labctl.core.errors import ConfigError

    with pytest.raises(ConfigError, match="sim serve"):
        asyncio.run(run_hil(DEFAULT_CONFIG, out=tmp_path))
