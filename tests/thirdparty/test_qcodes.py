"""QCoDeS's own Keithley 2400, Keithley 2450 and Keysight B2962A (B29xx family, two channels like the B2902)
drivers, unchanged, against ``labctl sim serve`` through real pyvisa: identify, reset, configure source and
limit, output on, measure, output off; error queue empty; the state they set reads back."""

from __future__ import annotations

import math

import pytest
from qcodes.instrument_drivers.Keithley import Keithley2400, Keithley2450
from qcodes.instrument_drivers.Keysight import KeysightB2962A

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
KW = {"visalib": "@py", "terminator": "\n", "timeout": 10}


def _errors(ask: object) -> list[str]:
    out = []
    for _ in range(10):
        reply = ask(":SYST:ERR?")  # type: ignore[operator]
        if reply.startswith(("0,", "+0,")):
            return out
        out.append(reply)
    return out


def test_qcodes_keithley2450(served: dict[str, str]) -> None:
    smu = Keithley2450("qc2450", served["smu0_aux"], **KW)
    try:
        assert smu.IDN()["model"] == "2450"
        smu.reset()
        smu.source_function("voltage")
        smu.sense_function("current")
        smu.source.range(2)
        smu.source.limit(0.01)
        smu.sense.nplc(0.1)
        smu.sense.range(1e-3)
        smu.source.voltage(0.1)
        smu.output_enabled(True)
        amps = smu.sense.current()
        smu.output_enabled(False)
        assert _errors(smu.ask) == []
        assert smu.source_function.get() == "voltage"
        assert smu.sense_function.get() == "current"
        assert smu.source.range.get() == pytest.approx(2.0)
        assert float(smu.source.limit.get()) == pytest.approx(0.01)
        assert float(smu.sense.nplc.get()) == pytest.approx(0.1)
        assert smu.sense.range.get() == pytest.approx(1e-3)
        assert float(smu.source.voltage.get()) == pytest.approx(0.1)
        assert smu.output_enabled.get() is False
        assert math.isfinite(amps)
        assert abs(amps) < 1e-9  # every matrix relay is open
    finally:
        smu.close()


def test_qcodes_keithley2400(served: dict[str, str]) -> None:
    smu = Keithley2400("qc2400", served["smu1_aux"], **KW)  # the RS-232 2400, reached on its TCP socket
    try:
        assert smu.IDN()["model"] == "2400"
        smu.reset()
        smu.mode("VOLT")
        smu.rangev(2)
        smu.compliancei(0.01)
        smu.nplci(0.1)
        smu.volt(0.1)
        smu.output(True)
        amps = smu.curr()
        volts = smu.volt()
        smu.output(False)
        assert _errors(smu.ask) == []
        assert smu.mode.get() == "VOLT"
        assert smu.sense.get() == '"CURR:DC"'
        assert smu.compliancei.get() == pytest.approx(0.01)
        assert smu.nplci.get() == pytest.approx(0.1)
        assert smu.output.get() is False
        assert volts == pytest.approx(0.1)
        assert abs(amps) < 1e-9
    finally:
        smu.close()


def test_qcodes_keysight_b29xx(served: dict[str, str]) -> None:
    smu = KeysightB2962A("qcb29", served["smu0"], **KW)
    try:
        assert smu.IDN()["model"] == "B2902A"
        smu.write("*RST")
        for ch in (smu.ch1, smu.ch2):
            ch.source_mode("voltage")
            ch.current_limit(0.01)
            ch.source_voltage(0.1)
            ch.enable(True)
            amps = ch.current()
            volts = ch.voltage()
            ch.enable(False)
            assert ch.source_mode() == "voltage"
            assert ch.current_limit() == pytest.approx(0.01)
            assert ch.source_voltage() == pytest.approx(0.1)
            assert ch.enable() is False
            assert volts == pytest.approx(0.1)
            assert abs(amps) < 1e-9
        assert _errors(smu.ask) == []
    finally:
        smu.close()
