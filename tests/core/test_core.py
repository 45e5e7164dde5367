from __future__ import annotations

import subprocess
import sys

import pytest

from labctl.core import LimitError, SafetyLimits, VirtualClock
from labctl.core.errors import ConfigError


def test_limits_reject_out_of_range_program_pulse() -> None:
    lim = SafetyLimits(max_program_voltage=2.0, read_clamp=0.2)
    lim.check_program(-2.0, 1e-6)
    with pytest.raises(LimitError, match=r"volts = 2\.1 V exceeds max_program_voltage"):
        lim.check_program(2.1, 1e-6)
    with pytest.raises(LimitError, match=r"width = 100 s is out of range"):
        lim.check_program(1.0, 100.0)
    with pytest.raises(LimitError, match="read clamp"):
        lim.check_read(0.25)


def test_limits_model_rejects_inverted_widths() -> None:
    with pytest.raises(ValueError, match="min_pulse_width"):
        SafetyLimits(min_pulse_width=1e-3, max_pulse_width=1e-6)


def test_config_error_names_field_and_range() -> None:
    err = ConfigError.out_of_range("width", -1.0, 0, 1, "s")
    assert err.field == "width"
    assert "width = -1.0" in str(err)
    assert "[0, 1] s" in str(err)


async def test_virtual_clock_advances_on_sleep() -> None:
    clock = VirtualClock()
    await clock.sleep(1.5)
    assert clock.now() == 1.5
    with pytest.raises(ValueError, match="seconds"):
        clock.advance(-1)


def test_package_import_is_light() -> None:
    code = (
        "import sys, labctl, labctl.core, labctl.cli;"
        "print([m for m in ('torch', 'matplotlib', 'scipy') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
