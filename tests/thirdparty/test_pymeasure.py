"""pymeasure's own Keithley 2400 and 2450 drivers, unchanged, against ``labctl sim serve`` (real pyvisa over
loopback TCP): identify, reset, configure source and limit, output on, measure, output off; every command they
send is understood (error queue empty) and the state they set reads back."""

from __future__ import annotations

import math

import pytest
from pymeasure.instruments.keithley import Keithley2400, Keithley2450

OPTS = {"visa_library": "@py", "read_termination": "\n", "write_termination": "\n", "timeout": 10000}


def test_pymeasure_keithley2450(served: dict[str, str]) -> None:
    smu = Keithley2450(served["smu0_aux"], **OPTS)
    try:
        assert smu.id.startswith("KEITHLEY INSTRUMENTS INC.,MODEL 2450,")
        smu.reset()
        smu.apply_voltage(voltage_range=2, compliance_current=0.01)
        smu.measure_current(nplc=0.1, current=1e-3, auto_range=False)
        smu.source_voltage = 0.1
        smu.enable_source()
        amps = smu.current
        assert smu.source_enabled
        smu.disable_source()
        assert not smu.source_enabled
        assert smu.check_errors() == []
        assert smu.source_mode == "voltage"
        assert smu.source_voltage_range == pytest.approx(2.0)
        assert smu.compliance_current == pytest.approx(0.01)
        assert smu.source_voltage == pytest.approx(0.1)
        assert smu.current_nplc == pytest.approx(0.1)
        assert smu.current_range == pytest.approx(1e-3)
        assert smu.ask(":SENS:CURR:RANG:AUTO?").strip() == "0"
        assert math.isfinite(amps)
        assert abs(amps) < 1e-9  # every matrix relay is open: nothing is connected to the SMU
        smu.shutdown()
        assert smu.source_voltage == pytest.approx(0.0)
        assert smu.check_errors() == []
    finally:
        smu.adapter.close()


def test_pymeasure_keithley2400(served: dict[str, str]) -> None:
    smu = Keithley2400(served["smu1_aux"], **OPTS)  # the simulator serves the RS-232 2400 on a TCP socket too
    try:
        assert smu.id.startswith("KEITHLEY INSTRUMENTS INC.,MODEL 2400,")
        smu.reset()
        smu.write(":FORMAT:ELEMENTS VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS")  # what its __init__ sends
        smu.source_mode = "voltage"  # apply_voltage() is deprecated in this driver
        smu.source_voltage_range = 2
        smu.compliance_current = 0.01
        smu.current_nplc = 0.1
        smu.current_range = 1e-3
        smu.source_voltage = 0.1
        smu.enable_source()
        assert smu.source_enabled
        amps = smu.current
        volts = smu.voltage
        smu.disable_source()
        assert not smu.source_enabled
        assert smu.check_errors() == []
        assert smu.source_mode == "voltage"
        assert smu.compliance_current == pytest.approx(0.01)
        assert smu.source_voltage == pytest.approx(0.1)
        assert smu.source_voltage_range == pytest.approx(2.0)
        assert smu.current_nplc == pytest.approx(0.1)
        assert smu.current_range == pytest.approx(1e-3)
        assert smu.ask(":FORM:ELEM?").strip() == "VOLT,CURR,RES,TIME,STAT"
        assert abs(amps) < 1e-9
        assert volts == pytest.approx(0.1)
        smu.shutdown()
        assert smu.check_errors() == []
    finally:
        smu.adapter.close()
