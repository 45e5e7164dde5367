"""Current measure range and autozero of the simulated Keithley 2450 and 2400: a fixed range overflows (9.9e37)
and limits the resolution, AUTO picks the range, autozero costs virtual time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import pyvisa

from labctl.bench import start_simulation
from labctl.core.config import BenchConfig

CFG = BenchConfig.model_validate({
    "name": "keithley-range",
    "limits": {"compliance": 0.01, "min_pulse_width": 5e-5},
    "instruments": {
        "k2450": {"driver": "keithley_2450", "resource": "sim"},
        "k2400": {"driver": "keithley_2400", "resource": "sim"},
        "b2201a": {"driver": "keysight_b2201a", "resource": "sim", "cards": 2, "outputs_per_card": 12},
    },
    "crossbars": {
        "a": {"rows": 8, "cols": 8, "wiring": {"matrix": "b2201a", "rows": {"first_output": 1},
              "cols": {"first_output": 13}, "inputs": [
                  {"input": 3, "source": "k2450", "roles": ["drive", "sense", "bias"]},
                  {"input": 4, "source": "k2400", "roles": ["spare"]},
                  {"input": 5, "roles": ["ground"]}]}},
    },
    "sim": {"preset": "iitm_2024", "seed": 1},
})
assert CFG.sim is not None
COMMAND = CFG.sim.timing.command


@pytest.fixture
def sim() -> Iterator[Any]:
    s = start_simulation(CFG)
    mat = s.devices["b2201a"]
    mat.handle(":ROUT:FUNC NCON")  # normal config: channel = card, input, output on the card
    mat.handle(":ROUT:CLOS (@10303,10404,20506)")  # row 2 on the 2450, row 3 on the 2400, column 5 grounded
    assert mat.handle(":SYST:ERR?").startswith("0,")
    yield s
    s.stop()


def _physics(sim: Any, row: int, volts: float) -> float:
    phys = sim.crossbars["a"]
    rows: list[float | None] = [None] * 8
    cols: list[float | None] = [None] * 8
    rows[row], cols[5] = volts, 0.0
    return float(np.asarray(phys.array.current(phys.cell_voltages(rows, cols)))[row].sum())


def test_2450_autorange_fixed_range_overflow_and_resolution_over_pyvisa(sim: Any) -> None:
    smu = pyvisa.ResourceManager("@py").open_resource(sim.resources["k2450"], read_termination="\n",
                                                      write_termination="\n")
    assert isinstance(smu, pyvisa.resources.MessageBasedResource)
    smu.timeout = 5000
    smu.write(":SOUR:VOLT:ILIM 0.01;:SOUR:VOLT 0.1;:OUTP ON")
    assert smu.query(":SENS:CURR:RANG:AUTO?") == "1"
    i = float(smu.query(":MEAS:CURR?"))
    expected = _physics(sim, 2, 0.1)
    rng = float(smu.query(":SENS:CURR:RANG?"))  # the range AUTO picked: the smallest decade holding the reading
    assert rng / 10 < abs(expected) * 1.05 <= rng * 1.05
    assert i == pytest.approx(round(expected / (rng * 1e-6)) * rng * 1e-6, rel=1e-6)
    smu.write(f":SENS:CURR:RANG {rng / 100:g}")  # a fixed range below the current: overflow
    assert smu.query(":SENS:CURR:RANG:AUTO?") == "0"
    assert float(smu.query(":SENS:CURR:RANG?")) == pytest.approx(rng / 100)
    assert float(smu.query(":MEAS:CURR?")) == 9.9e37
    smu.write(":SENS:CURR:RANG 1")  # the top range: in range, resolved to 1 uA only
    coarse = float(smu.query(":MEAS:CURR?"))
    assert coarse == pytest.approx(round(expected / 1e-6) * 1e-6, abs=1e-12)
    assert abs(coarse - expected) <= 0.5e-6
    smu.write(":SENS:CURR:RANG 1.5")
    assert smu.query(":SYST:ERR?").startswith("-222")
    smu.write(":SENS:CURR:RANG:AUTO ON")
    assert float(smu.query(":MEAS:CURR?")) == pytest.approx(i, rel=1e-3)
    smu.write(":OUTP OFF")
    smu.close()


@pytest.mark.parametrize(("name", "azero_on", "azero_off", "period"), [
    ("k2450", ":SENS:CURR:AZER ON", ":SENS:CURR:AZER OFF", 1 / 50),
    ("k2400", ":SYST:AZER ON", ":SYST:AZER OFF", 1 / 60),
])
def test_autozero_adds_reference_and_zero_conversions(sim: Any, name: str, azero_on: str, azero_off: str,
                                                      period: float) -> None:
    dev = sim.devices[name]
    query = ":MEAS:CURR?" if name == "k2450" else ":READ?"
    dev.handle(":SOUR:VOLT 0.1;:OUTP ON;:SENS:CURR:NPLC 1")  # one line cycle: longer than the read duration
    for command, conversions in ((azero_on, 3), (azero_off, 1)):
        dev.handle(command)
        t0 = sim.now()
        dev.handle(query)
        assert sim.now() - t0 == pytest.approx(COMMAND + conversions * period, rel=1e-9)
    t0 = sim.now()
    dev.handle(":SENS:AZER:ONCE" if name == "k2450" else ":SYST:AZER ONCE")
    assert sim.now() - t0 == pytest.approx(COMMAND + 2 * period, rel=1e-9)
    assert dev.handle(":SYST:ERR?").startswith("0,")


def test_2400_fixed_range_overflows_and_rst_restores_autorange(sim: Any) -> None:
    dev = sim.devices["k2400"]
    dev.handle(":SOUR:VOLT 0.1;:OUTP ON;:FORM:ELEM CURR")
    expected = _physics(sim, 3, 0.1)
    auto = float(dev.handle(":READ?"))
    rng = float(dev.handle(":SENS:CURR:RANG?"))
    assert auto == pytest.approx(round(expected / (rng * 1e-5)) * rng * 1e-5, rel=1e-6)  # 5.5 digits
    dev.handle(f":SENS:CURR:RANG {rng / 10:g}")
    assert float(dev.handle(":READ?")) == 9.9e37
    dev.handle("*RST")
    assert dev.handle(":SENS:CURR:RANG:AUTO?") == "1"
