"""SMU hardware limits as data: the bench config refuses what the model cannot do, naming the model and the
limit; the drivers carry their model's entry and tighten their source limits to it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from instruments import DRIVERS, SourceLimits
from labctl.bench import DEFAULT_CONFIG
from labctl.cli import cli
from labctl.core.config import parse_bench_config
from labctl.core.errors import ConfigError
from labctl.core.limits import SafetyLimits
from labctl.core.smu_limits import SMU_LIMITS
from sim_instruments.devices import DEVICES


def _default() -> dict[str, Any]:
    return yaml.safe_load(Path(DEFAULT_CONFIG).read_text())


def _check(tmp_path: Path, data: dict[str, Any]) -> tuple[int, str]:
    """``labctl config check`` on ``data``: exit status and stderr."""
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(data))
    p = subprocess.run([sys.executable, "-m", "labctl", "config", "check", str(path)], capture_output=True,
                       text=True, timeout=60, check=False)
    return p.returncode, p.stderr


def test_a_2450_asked_for_300_volts_is_refused(tmp_path: Path) -> None:
    data = _default()
    data["instruments"]["smu0_aux"]["limits"]["max_voltage"] = 300
    code, out = _check(tmp_path, data)
    assert code == 2
    assert "instruments.smu0_aux.limits.max_voltage = 300 V exceeds the Keithley 2450's source maximum" in out
    assert "(0, 210] V" in out


@pytest.mark.parametrize(("inst", "amps", "model"), [("smu0_aux", 2.0, "Keithley 2450"),
                                                     ("smu1_aux", 1.5, "Keithley 2400")])
def test_a_compliance_above_the_model_is_refused(inst: str, amps: float, model: str) -> None:
    data = _default()
    data["limits"]["compliance"] = 3.0
    data["instruments"][inst]["limits"]["compliance"] = amps
    with pytest.raises(ConfigError, match=rf"instruments.{inst}.limits.compliance = {amps:g} A exceeds the "
                                          rf"{model}'s current maximum; allowed \(0, 1.05\] A"):
        parse_bench_config(data)


def test_the_dc_envelope_and_pulse_width_of_the_b2902(tmp_path: Path) -> None:
    data = _default()
    data["limits"]["min_pulse_width"] = 1e-6  # shorter than the B2902A's 50 us
    with pytest.raises(ConfigError, match=r"min_pulse_width = 1e-06 s is shorter than the Keysight B2902A's "
                                          r"shortest pulse; allowed >= 5e-05 s"):
        parse_bench_config(data)
    data = _default()
    data["instruments"]["smu0_aux"]["limits"] = {"compliance": 0.5, "max_voltage": 3}
    data["limits"]["max_program_voltage"] = 20
    data["limits"]["compliance"] = 3
    data["instruments"]["smu0"]["limits"] = {"max_voltage": 20, "compliance": 3}
    with pytest.raises(ConfigError, match=r"compliance = 3 A at 20 V is outside the Keysight B2902A's DC output "
                                          r"envelope; allowed at most 1.515 A at 20 V \(smu0\)"):
        parse_bench_config(data)


def test_a_second_channel_of_the_2450_is_refused() -> None:
    data = _default()
    assert data["crossbars"]["xbar0"]["wiring"]["inputs"][3]["source"] == "smu0_aux"
    data["crossbars"]["xbar0"]["wiring"]["inputs"][3]["channel"] = 2
    with pytest.raises(ConfigError, match=r"inputs\[3\].channel = 2: the Keithley 2450 has 1 channel\b"):
        parse_bench_config(data)


def test_the_example_and_default_benches_pass(tmp_path: Path) -> None:
    for path in (DEFAULT_CONFIG, Path(DEFAULT_CONFIG).parent / "example_lab_bench.yaml"):
        result = CliRunner().invoke(cli, ["config", "check", str(path)])
        assert result.exit_code == 0, result.output


@pytest.mark.parametrize("driver", sorted(SMU_LIMITS))
def test_every_smu_driver_carries_its_model_entry(driver: str) -> None:
    assert DRIVERS[driver].hardware is SMU_LIMITS[driver]  # type: ignore[attr-defined]
    assert DRIVERS[driver].channels == SMU_LIMITS[driver].channels


@pytest.mark.parametrize("driver", ["keithley_2400", "keithley_2450", "keysight_b2902"])
def test_drivers_and_simulators_carry_the_model_limits(driver: str) -> None:
    hw = SMU_LIMITS[driver]
    cls = DRIVERS[driver]
    sim = DEVICES[driver]
    assert sim.max_volts == hw.max_voltage
    assert sim.max_amps == hw.max_current
    ranges = getattr(sim, "current_ranges", None)
    if ranges is not None:
        assert tuple(ranges) == hw.current_ranges
    lim = SourceLimits.of(SafetyLimits(compliance=3.0, max_program_voltage=20.0, read_clamp=0.3))
    smu = cls("x", object(), lim)  # type: ignore[arg-type]
    assert smu.limits.compliance == min(3.0, hw.max_current)
