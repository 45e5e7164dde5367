"""The simulated 2636B: its TSP command set on the bench physics, and its own source limits."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from labctl.bench import CONFIGS
from labctl.core.config import load_bench_config
from sim_instruments.bench import SimBench
from sim_instruments.devices import Sim707B, Sim2636B, make_device


@pytest.fixture
def bench() -> tuple[SimBench, Any, Any]:
    b = SimBench(load_bench_config(CONFIGS / "sim_bench_2600b.yaml"))
    smu, rows, cols = make_device(b, "smu0"), make_device(b, "matrix0a"), make_device(b, "matrix0b")
    assert isinstance(smu, Sim2636B)
    assert isinstance(rows, Sim707B)
    assert isinstance(cols, Sim707B)
    # cell (0, 0): row 0 on smua (input A), column 0 grounded (input E), every other line on smub (input B);
    # rows on matrix0a outputs 1-64 (slots 1-6 of 12), columns on matrix0b outputs 1-64
    rows.handle(f'channel.close("1A01,1B02:1B12,{_slots("B", 2)}")')
    cols.handle(f'channel.close("1E01,1B02:1B12,{_slots("B", 2)}")')
    assert rows.handle('print(channel.getclose("slot1"))').startswith("1A01;1B02;1B03")
    return b, smu, (rows, cols)


def _slots(letter: str, first: int) -> str:
    """Channels of outputs 13-64 on input ``letter`` (slots 2-6 of a 707B with 12-column cards)."""
    return ",".join(f"{s}{letter}01:{s}{letter}{12 if s < 6 else 4:02d}" for s in range(first, 7))



def _f(reply: str | None) -> float:
    assert reply is not None
    return float(reply)


def test_source_measure_through_the_matrix_with_compliance_folding(bench: tuple[SimBench, Any, Any]) -> None:
    b, smu, mat = bench
    assert smu.handle("*IDN?").startswith("Keithley Instruments Inc., Model 2636B")
    smu.handle("smua.source.func = smua.OUTPUT_DCVOLTS smua.source.limiti = 1e-2 smua.source.levelv = 0.1 "
               "smua.source.output = smua.OUTPUT_ON smub.source.levelv = 0.1 smub.source.limiti = 0.1 "
               "smub.source.output = smub.OUTPUT_ON")  # equipotential: only cell (0, 0) carries smua's current
    g = b.crossbars["xbar0"].array.conductance(0.1)[0, 0]
    i = _f(smu.handle("print(smua.measure.i())"))
    assert i == pytest.approx(0.1 * float(g), rel=0.05)  # 1 % read noise
    i2, v = (float(x) for x in smu.handle("print(smua.measure.iv())").split("\t"))
    assert v == 0.1
    assert i2 == pytest.approx(i, rel=0.05)
    smu.handle("smub.source.output = 0")
    # row 0 driven, every other line grounded
    mat[0].handle(f'channel.exclusiveclose("1A01,1E02:1E12,{_slots("E", 2)}")')
    mat[1].handle(f'channel.exclusiveclose("1E01:1E12,{_slots("E", 2)}")')
    smu.handle("smua.source.limiti = 1e-5")  # below the row's current: smua folds back to the limit
    assert _f(smu.handle("print(smua.measure.i())")) == pytest.approx(1e-5, rel=0.04)  # 1 % read noise
    assert smu.handle("print(smua.source.compliance)") == "true"
    smu.handle("smua.source.output = smua.OUTPUT_OFF")
    assert _f(smu.handle("print(smua.measure.i())")) == 0.0
    assert smu.handle("print(errorqueue.count)") == "0.00000e+00"


def test_instrument_limits_refuse_and_keep_the_old_value(bench: tuple[SimBench, Any, Any]) -> None:
    _, smu, _ = bench
    smu.handle("smua.source.limiti = 1e-3 smua.source.levelv = 1")
    smu.handle("smua.source.levelv = 250")  # above 200 V
    smu.handle("smua.source.limiti = 2")  # above 1.5 A
    smu.handle("smua.source.limiti = 1 smua.source.levelv = 30")  # 1 A at 30 V: outside the 2636B's envelope
    smu.handle("smua.source.func = smua.OUTPUT_DCAMPS smua.source.output = smua.OUTPUT_ON")
    codes = [smu.handle("print(errorqueue.next())").split("\t")[0] for _ in range(4)]
    assert codes == ["-2.22000e+02", "-2.22000e+02", "5.00700e+03", "-2.21000e+02"]
    assert smu.handle("print(smua.source.levelv, smua.source.output)") == "1.00000e+00\t0.00000e+00"
    smu.handle("smua.source.autorangev = 0 smua.source.rangev = 2 smua.source.levelv = 5")
    assert smu.handle("print(errorqueue.count, smua.source.levelv)") == "1.00000e+00\t1.00000e+00"


def test_delay_with_the_output_on_is_a_pulse_on_the_physics(bench: tuple[SimBench, Any, Any]) -> None:
    b, smu, _ = bench
    xb = b.crossbars["xbar0"]
    g0 = float(xb.array.conductance(0.1)[0, 0])
    t0 = b.now()
    smu.handle("smua.source.limiti = 1 smua.source.levelv = 0 smua.source.output = 1 "
               "smub.source.limiti = 1 smub.source.output = 1 "
               "smua.source.levelv = -1.5 smub.source.levelv = -0.75 delay(1e-4) smua.source.levelv = 0 "
               "smub.source.levelv = 0 smua.source.output = 0 smub.source.output = 0")
    assert b.pulses == 1
    assert float(xb.peak_pulse_voltage[0, 0]) == pytest.approx(1.5, rel=1e-6)
    assert float(xb.array.conductance(0.1)[0, 0]) < 0.5 * g0  # a RESET pulse: the cell lost conductance
    assert b.now() - t0 >= 1e-4


def test_fixed_range_overflows_buffers_and_a_trigger_sweep(bench: tuple[SimBench, Any, Any]) -> None:
    _, smu, _ = bench
    smu.handle("smub.source.levelv = 0 smub.source.output = 1")  # the other lines at 0 V (none floating)
    smu.handle("smua.source.limiti = 0.1 smua.source.levelv = 0.1 smua.source.output = 1")
    smu.handle("smua.measure.autorangei = 0 smua.measure.rangei = 1e-9")
    assert smu.handle("print(smua.measure.i())") == "9.91000e+37"
    smu.handle("smua.measure.autorangei = 1 smua.nvbuffer1.clear() smua.measure.count = 3 "
               "smua.measure.i(smua.nvbuffer1)")
    assert smu.handle("print(smua.nvbuffer1.n)") == "3.00000e+00"
    values = smu.handle("printbuffer(1, smua.nvbuffer1.n, smua.nvbuffer1.readings)").split(", ")
    assert len(values) == 3
    assert all(1e-3 < float(x) < 0.1 for x in values)  # 64 cells of row 0 at 0.1 V
    smu.handle("smua.measure.count = 1 smua.nvbuffer2.clear() smua.trigger.source.linearv(0.02, 0.1, 5) "
               "smua.trigger.source.action = smua.ENABLE smua.trigger.measure.action = smua.ENABLE "
               "smua.trigger.measure.iv(smua.nvbuffer2, smua.nvbuffer1) smua.trigger.count = 5 "
               "smua.nvbuffer1.clear() smua.trigger.initiate() waitcomplete()")
    volts = [float(x) for x in smu.handle("printbuffer(1, 5, smua.nvbuffer1.readings)").split(", ")]
    amps = [float(x) for x in smu.handle("printbuffer(1, 5, smua.nvbuffer2.readings)").split(", ")]
    assert volts == pytest.approx([0.02, 0.04, 0.06, 0.08, 0.1])
    assert all(b > a for a, b in itertools.pairwise(amps))  # current rises with the swept voltage
    assert smu.handle("print(errorqueue.count)") == "0.00000e+00"
