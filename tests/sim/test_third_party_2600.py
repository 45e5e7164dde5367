"""pymeasure's and QCoDeS's Keithley 2600 drivers, unchanged, against ``labctl sim serve`` (the simulated 2636B
in its own process, a loopback TCP socket resource): identify, configure, output, measure, empty error queue."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from labctl.bench import CONFIGS, SimProcess
from labctl.core.config import load_bench_config


@pytest.fixture(scope="module")
def served() -> Iterator[SimProcess]:
    with SimProcess(load_bench_config(CONFIGS / "sim_bench_2600b.yaml")) as proc:
        yield proc


def _select_cell(proc: SimProcess) -> None:
    import pyvisa

    rm = pyvisa.ResourceManager("@py")
    grounded = ",".join(f"{s}E01:{s}E{12 if s < 6 else 4:02d}" for s in range(2, 7))  # outputs 13-64: slots 2-6
    # row 0 on smua (input A, matrix0a output 1); every other row and every column grounded (input E)
    for name, spec in (("matrix0a", f"1A01,1E02:1E12,{grounded}"), ("matrix0b", f"1E01:1E12,{grounded}")):
        mat = rm.open_resource(proc.resources[name], read_termination="\n", write_termination="\n")
        mat.write(f'channel.exclusiveclose("{spec}")')
        assert mat.query('print(channel.getclose("slot1"))').startswith("1A01;1E02" if name == "matrix0a" else "1E01")
        mat.close()


@pytest.mark.filterwarnings("ignore:It is not known whether this device:FutureWarning")  # pymeasure's own notice
def test_pymeasure_keithley2600(served: SimProcess) -> None:
    from pymeasure.instruments.keithley import Keithley2600

    _select_cell(served)
    smu = Keithley2600(served.resources["smu0"], visa_library="@py", read_termination="\n",
                       write_termination="\n", timeout=20000)
    try:
        assert "Model 2636B" in smu.id
        ch = smu.ChA
        ch.source_mode = "voltage"
        ch.compliance_current = 0.1
        ch.measure_current(nplc=0.01, current=0.1, auto_range=True)  # (its measure_nplc property is broken)
        ch.source_voltage = 0.1
        ch.source_output = "ON"
        assert ch.source_output == "ON"
        assert ch.source_voltage == pytest.approx(0.1)
        assert ch.compliance_current == pytest.approx(0.1)
        current = ch.current
        assert 1e-5 < current < 0.1  # row 0: 64 cells at 0.1 V
        assert ch.voltage == pytest.approx(0.1)
        assert ch.resistance == pytest.approx(0.1 / current, rel=0.05)
        ch.source_output = "OFF"
        assert ch.current == 0.0
        assert smu.check_errors() == []
    finally:
        smu.adapter.close()


def test_qcodes_keithley2636b(served: SimProcess) -> None:
    from qcodes.instrument_drivers.Keithley import Keithley2636B
    from qcodes.instrument_drivers.Keithley._Keithley_2600 import Keithley2600MeasurementStatus as Status

    _select_cell(served)
    smu = Keithley2636B("k2636b_sim", served.resources["smu0"], visalib="@py", terminator="\n", timeout=20)
    try:
        idn = smu.get_idn()
        assert idn["model"] == "2636B"
        assert smu.model == "2636B"
        a = smu.smua
        a.mode("voltage")
        a.limiti(0.1)
        a.nplc(0.01)
        a.volt(0.1)
        a.output("on")
        assert a.output() is True
        current = a.curr()
        assert 1e-5 < current < 0.1
        assert a.volt() == pytest.approx(0.1)
        assert a.curr.measurement_status == Status.NORMAL
        a.limiti(1e-5)
        assert a.curr() == pytest.approx(1e-5, rel=0.04)
        assert a.curr.measurement_status == Status.CURRENT_COMPLIANCE_ERROR
        a.output("off")
        assert smu.ask("errorqueue.count") == "0.00000e+00"
    finally:
        smu.close()
