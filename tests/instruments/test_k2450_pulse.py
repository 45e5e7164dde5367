"""Keithley 2450 pulse: a timed hold, then the current read at its end (transcript, and against the simulator
and its physics through pyvisa-py and TCP)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from instruments import Keithley2450, KeysightB2201A, SourceLimits
from labctl.bench import start_simulation
from labctl.core import SafetyLimits
from labctl.core.config import BenchConfig
from labctl.core.transports import open_transport
from tests.instruments.scripted import Scripted

LIM = SourceLimits.of(SafetyLimits(max_program_voltage=3.0, read_clamp=0.2, compliance=1e-2,
                                   min_pulse_width=5e-5, max_pulse_width=1e-2))


async def test_pulse_transcript_hold_is_width_less_one_aperture() -> None:
    t = Scripted([
        (":SYST:LFR?", "60"),
        (":SOUR:VOLT:DEL 0.000833333;:SOUR:VOLT 1.5;:OUTP ON;:MEAS:CURR?;:OUTP OFF;:SOUR:VOLT 0;:SOUR:VOLT:DEL 0",
         "+2.500000E-04"),
        (":SOUR:VOLT:DEL 0.0001;:SOUR:VOLT -1.2;:OUTP ON;:OUTP OFF;:SOUR:VOLT 0;:SOUR:VOLT:DEL 0;*OPC?", "1"),
    ])
    smu = Keithley2450("k", t, LIM)
    assert await smu.pulse(1.5, 1e-3) == pytest.approx(2.5e-4)  # 1 ms = 833.333 us hold + 0.01 NPLC at 60 Hz
    assert not smu.is_live(1)
    assert math.isnan(await smu.pulse(-1.2, 1e-4))  # shorter than one aperture (166.7 us): not measurable
    assert not smu.is_live(1)
    t.done()


async def test_pulse_limits_are_checked_before_anything_is_sent() -> None:
    t = Scripted([])
    smu = Keithley2450("k", t, LIM)
    with pytest.raises(Exception, match="width"):
        await smu.pulse(1.0, 1.0)
    with pytest.raises(Exception, match="volts"):
        await smu.pulse(5.0, 1e-3)
    assert t.sent == []


CFG = BenchConfig.model_validate({
    "name": "k2450-pulse",
    "limits": {"compliance": 0.01, "min_pulse_width": 5e-5},
    "instruments": {
        "k2450": {"driver": "keithley_2450", "resource": "sim"},
        "b2201a": {"driver": "keysight_b2201a", "resource": "sim", "cards": 2, "outputs_per_card": 12},
    },
    "crossbars": {
        "a": {"rows": 8, "cols": 8, "wiring": {"matrix": "b2201a", "rows": {"first_output": 1},
              "cols": {"first_output": 13}, "inputs": [
                  {"input": 3, "source": "k2450", "roles": ["drive", "sense", "bias"]},
                  {"input": 5, "roles": ["ground"]}]}},
    },
    "sim": {"preset": "iitm_2024", "seed": 1},
})

assert CFG.sim is not None
COMMAND = CFG.sim.timing.command  # virtual time per message


@pytest.fixture
def sim() -> Iterator[Any]:
    s = start_simulation(CFG)
    yield s
    s.stop()


def _static_current(sim: Any, row: int, col: int, volts: float) -> float:
    """The physics' current into ``row`` with it at ``volts``, ``col`` grounded and every other line floating."""
    phys = sim.crossbars["a"]
    rows: list[float | None] = [None] * 8
    cols: list[float | None] = [None] * 8
    rows[row], cols[col] = volts, 0.0
    return float(np.asarray(phys.array.current(phys.cell_voltages(rows, cols)))[row].sum())


async def test_pulse_current_is_the_physics_at_the_end_of_the_hold(sim: Any) -> None:
    lim = SourceLimits.of(CFG.limits)
    mat = KeysightB2201A("b2201a", open_transport(sim.resources["b2201a"], timeout=10), lim, cards=2,
                         outputs_per_card=12)
    smu = Keithley2450("k2450", open_transport(sim.resources["k2450"], timeout=10), lim)
    await mat.configure()
    await smu.configure()
    row, col, width = 2, 5, 3e-4
    await mat.route({(3, 1 + row), (5, 13 + col)})
    assert await smu.aperture() == pytest.approx(2e-4)  # 0.01 NPLC at the simulator's 50 Hz
    for volts in (-1.4, 1.4):  # RESET the (formed, low-resistance) cell, then SET it again
        start = _static_current(sim, row, col, volts)
        t0 = sim.now()
        measured = await smu.pulse(volts, width)
        assert sim.now() - t0 == pytest.approx(width + COMMAND, rel=1e-9)  # one message, on = width
        end = _static_current(sim, row, col, volts)
        assert abs(end - start) > 0.5 * min(abs(start), abs(end))  # it switched: start and end differ
        assert measured == pytest.approx(end, rel=0.02)
        assert not sim.bench.sources[("k2450", 1)].on
    await smu.safe_state()
    await mat.safe_state()
    await smu.disconnect()
    await mat.disconnect()


async def test_line_frequency_from_the_pyvisa_sim_file() -> None:
    from pathlib import Path

    import instruments

    yaml = Path(instruments.__file__).parent / "sim" / "keithley_2450.yaml"
    smu = Keithley2450("k", open_transport(f"GPIB0::18::INSTR|{yaml}@sim", timeout=0.5), LIM)
    await smu.configure()
    assert await smu.aperture() == pytest.approx(0.01 / 60)
    await smu.disconnect()
