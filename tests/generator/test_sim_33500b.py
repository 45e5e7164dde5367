"""The simulated 33500B speaks its manual's SCPI: forms, queries of every setting, the load setting's scaling,
pulse limits, bursts fired by ``*TRG``; and QCoDeS's own Keysight 33522B driver works against it unchanged."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from labctl.bench import CONFIGS, SimProcess, start_simulation
from labctl.core.config import load_bench_config

CONFIG = CONFIGS / "sim_bench_generator.yaml"


@pytest.fixture
def gen() -> Iterator[object]:
    sim = start_simulation(load_bench_config(CONFIG), transport="inproc")
    yield sim.devices["awg0"]
    sim.stop()


def ask(dev: object, msg: str) -> str:
    return dev.handle(msg) or ""  # type: ignore[attr-defined]


def errors(dev: object) -> list[int]:
    out = []
    while True:
        code = int(ask(dev, "SYST:ERR?").split(",")[0])
        if code == 0:
            return out
        out.append(code)


def test_levels_follow_the_load_setting(gen: object) -> None:
    assert ask(gen, "OUTP1:LOAD?") == "+5.000000000000000E+01"
    ask(gen, "SOUR1:VOLT:HIGH 1;:SOUR1:VOLT:LOW 0")
    assert float(ask(gen, "SOUR1:VOLT?")) == pytest.approx(1.0)
    assert float(ask(gen, "SOUR1:VOLT:OFFS?")) == pytest.approx(0.5)
    ask(gen, ":OUTPut1:LOAD INFinity")  # high impedance: the open-circuit voltage, twice the 50 ohm value
    assert float(ask(gen, "OUTP1:LOAD?")) == pytest.approx(9.9e37)
    assert float(ask(gen, "SOUR1:VOLT:HIGH?")) == pytest.approx(2.0)
    ask(gen, "VOLT 3;VOLT:OFFS -1")  # short forms, default channel 1
    assert float(ask(gen, "SOURCE1:VOLTAGE:LOW?")) == pytest.approx(-2.5)
    assert errors(gen) == []


def test_pulse_settings_and_limits(gen: object) -> None:
    ask(gen, "SOUR2:FUNC PULSE;:SOUR2:FUNC:PULS:PER 1e-6;:SOUR2:FUNC:PULS:WIDT 2e-8;:SOUR2:FUNC:PULS:TRAN 8.4e-9")
    assert ask(gen, "SOUR2:FUNC?") == "PULS"
    assert float(ask(gen, "SOUR2:FUNC:PULS:WIDT?")) == pytest.approx(2e-8)
    assert float(ask(gen, "SOUR2:FUNC:PULS:TRAN:LEAD?")) == pytest.approx(8.4e-9)
    assert float(ask(gen, "SOUR2:FUNC:PULS:PER?")) == pytest.approx(1e-6)
    assert float(ask(gen, "SOUR2:FREQ?")) == pytest.approx(1e6)
    ask(gen, "SOUR2:FUNC:PULS:WIDT 1e-8")  # below the 16 ns minimum
    ask(gen, "SOUR2:FUNC:PULS:TRAN 5e-9")  # below the 8.4 ns minimum edge
    ask(gen, "SOUR2:FUNC:PULS:TRAN 1e-7")  # longer than 0.625 x 20 ns: adjusted, with an error
    assert errors(gen) == [-222, -222, -222]
    assert float(ask(gen, "SOUR2:FUNC:PULS:TRAN?")) == pytest.approx(0.625 * 2e-8)
    ask(gen, "SOUR2:FUNC:PULS:WIDT MIN")
    assert float(ask(gen, "SOUR2:FUNC:PULS:WIDT?")) == pytest.approx(16e-9)
    ask(gen, "SOUR2:BURS:NCYC 5;:SOUR2:BURS:MODE TRIG;:SOUR2:BURS:STAT ON;:TRIG2:SOUR BUS;:OUTP2:POL INV")
    assert [ask(gen, q) for q in ("SOUR2:BURS:NCYC?", "SOUR2:BURS:MODE?", "SOUR2:BURS:STAT?", "TRIG2:SOUR?",
                                  "OUTP2:POL?")] == ["5", "TRIG", "1", "BUS", "INV"]
    ask(gen, "APPL:PULS 1000,0.2,0")
    assert ask(gen, "APPL?").startswith('"PULS +1.000000000000000E+03,+2.000000000000000E-01,')
    assert ask(gen, "OUTP?") == "1"  # APPLy turns the output on
    ask(gen, "SOUR1:FUNC BOGUS")
    ask(gen, "SOUR3:FUNC PULS")
    assert errors(gen) == [-224, -113]


def test_a_bus_trigger_fires_the_burst_on_the_physics(gen: object) -> None:
    bench = gen.bench  # type: ignore[attr-defined]
    ask(gen, "OUTP1:LOAD INF;:SOUR1:FUNC PULS;:SOUR1:FUNC:PULS:PER 1e-6;:SOUR1:FUNC:PULS:WIDT 2e-8;"
             ":SOUR1:VOLT:LOW 0;:SOUR1:VOLT:HIGH 1;:SOUR1:BURS:MODE TRIG;:SOUR1:BURS:NCYC 3;:SOUR1:BURS:STAT ON;"
             ":TRIG1:SOUR BUS")
    before, t0 = bench.pulses, bench.now()
    ask(gen, "*TRG")  # output off: nothing happens
    assert bench.pulses == before
    ask(gen, "OUTP1 ON")
    assert bench.sources[("awg0", 1)].level == 0.0  # idles at the low level
    ask(gen, "*TRG")
    assert bench.pulses == before + 3
    assert bench.now() - t0 >= 2e-6  # three pulses 1 us apart
    assert errors(gen) == []


def test_qcodes_33522b_driver_unchanged(tmp_path: Path) -> None:
    qcodes = pytest.importorskip("qcodes")
    from qcodes.instrument_drivers.Keysight import Keysight33522B

    with SimProcess(load_bench_config(CONFIG)) as sp:
        qcodes.Instrument.close_all()
        awg = Keysight33522B("awg_qc", sp.resources["awg0"], terminator="\n")
        try:
            assert awg.IDN()["model"] == "33522B"
            awg.write("*RST")  # the driver has no reset function; the manual's *RST
            ch = awg.ch1
            ch.function_type("PULS")
            ch.frequency(1e5)
            ch.amplitude_unit("VPP")
            ch.amplitude(1.0)
            ch.offset(0.5)
            ch.pulse_width(2e-6)
            ch.output_polarity("NORM")
            ch.burst_mode("N Cycle")
            ch.burst_ncycles(4)
            ch.burst_state("ON")
            ch.trigger_source("BUS")
            ch.trigger_count(1)
            ch.output("ON")
            awg.force_trigger()
            assert ch.function_type() == "PULS"
            assert ch.frequency() == pytest.approx(1e5)
            assert ch.amplitude() == pytest.approx(1.0)
            assert ch.offset() == pytest.approx(0.5)
            assert ch.pulse_width() == pytest.approx(2e-6)
            assert ch.burst_ncycles() == 4
            assert ch.burst_mode() == "N Cycle"
            assert ch.trigger_source() == "BUS"
            assert ch.output() == "ON"
            awg.sync.output("OFF")
            awg.sync.source(2)
            assert awg.sync.source() == 2
            ch.output("OFF")
            assert awg.error() == (0, "No error")
            assert not math.isnan(sp.now())
        finally:
            awg.close()
