"""SCPI grammar of the simulators: short/long forms, case, optional nodes, compound messages, errors."""

from __future__ import annotations

import pytest

from labctl.bench import DEFAULT_CONFIG
from labctl.core.config import load_bench_config, parse_bench_config
from sim_instruments.bench import SimBench
from sim_instruments.devices import make_device


@pytest.fixture(scope="module")
def bench() -> SimBench:
    return SimBench(load_bench_config(DEFAULT_CONFIG))


def test_short_long_case_and_optional_nodes(bench: SimBench) -> None:
    d = make_device(bench, "smu0")
    d.handle(":source2:voltage:level:immediate:amplitude 0.25")
    assert float(d.handle(":SOUR2:VOLT?") or "nan") == 0.25
    d.handle("SOURce2:VOLTage 0.5;VOLT:TRIG 0.7")  # relative path after ';'
    assert d.handle(":SOUR2:VOLT?;:SOUR2:VOLT:TRIG?") == "+5.000000E-01;+7.000000E-01"
    assert d.handle("*IDN?") == d.idn
    assert d.handle(":SYST:ERR?") == '0,"No error"'


def test_errors_go_to_the_queue(bench: SimBench) -> None:
    d = make_device(bench, "smu0")
    d.handle(":SOURC:VOLT 1")  # not a valid short form
    d.handle(":SOUR1:VOLT 500")
    d.handle(":OUTP1 MAYBE")
    d.handle(":SENS1:CURR:PROT")
    d.handle(":SOUR1:VOLT MAX")
    codes = [int((d.handle(":SYST:ERR?") or "").split(",")[0]) for _ in range(5)]
    assert codes == [-113, -222, -224, -109, 0]
    assert float(d.handle(":SOUR1:VOLT?") or "nan") == 210.0  # MAX keyword
    d.handle("*RST")
    assert float(d.handle(":SOUR1:VOLT?") or "nan") == 0.0
    d.handle("*CLS")
    for _ in range(12):
        d.handle(":BOGUS")
    assert d.handle("*ESR?") == "32"
    errs = [d.handle(":SYST:ERR?") for _ in range(11)]
    assert errs[9] is not None
    assert errs[9].startswith("-350")
    assert errs[10] == '0,"No error"'
    d.handle("*CLS")


def test_707b_tsp_subset() -> None:
    cfg = load_bench_config(DEFAULT_CONFIG).model_dump()
    cfg["instruments"]["matrix1a"].update(driver="keithley_707b", card="7174A", cards=6, outputs_per_card=12,
                                          inputs=8)
    cfg["crossbars"]["xbar1"].update(rows=8, cols=8)
    cfg["crossbars"]["xbar1"]["wiring"]["matrix"] = "matrix1a"
    cfg["crossbars"]["xbar1"]["wiring"]["cols"]["first_output"] = 13
    bench = SimBench(parse_bench_config(cfg))
    m = make_device(bench, "matrix1a")
    assert m.handle('print(channel.getclose("allslots"))') == "nil"
    m.handle('channel.close("1A01:1A03,2E05")')
    assert m.handle('print(channel.getclose("allslots"))') == "1A01;1A02;1A03;2E05"
    m.handle('channel.exclusiveclose("1B02")')
    assert m.handle('print(channel.getclose("slot1"))') == "1B02"
    m.handle('channel.close("1Z99")')
    assert m.handle("print(errorqueue.count)") == "1"
    assert (m.handle("print(errorqueue.next())") or "").startswith("1115\t")
    m.handle('channel.open("allslots")')
    assert bench.matrices["matrix1a"].closed == set()
    assert m.handle("*IDN?") == m.idn
