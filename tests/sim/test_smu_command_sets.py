"""The simulated SMUs follow their manuals' command sets: the manuals' example sequences run without error,
every form is accepted (long/short, keyword/numeric, MIN/MAX/DEF), a setting made through one path reads back
through another, ``:FORM:ELEM`` shapes the replies, and errors reach the queue with SCPI codes."""

from __future__ import annotations

from typing import Any

import pytest

from labctl.bench import DEFAULT_CONFIG, start_simulation
from labctl.core.config import load_bench_config


@pytest.fixture(scope="module")
def devices() -> dict[str, Any]:
    return start_simulation(load_bench_config(DEFAULT_CONFIG), transport="inproc").devices


def _errors(dev: Any) -> list[str]:
    out = []
    while (e := dev.handle(":SYST:ERR?")) != '0,"No error"':
        out.append(e)
    return out


def _run(dev: Any, script: list[str]) -> list[str | None]:
    replies = [dev.handle(m) for m in script]
    assert _errors(dev) == []
    return replies


def test_2450_manual_example_source_voltage_measure_current(devices: dict[str, Any]) -> None:
    k = devices["smu0_aux"]
    r = _run(k, ["*RST", ':SENS:FUNC "CURR"', ":SENS:CURR:RANG:AUTO ON", ":SOUR:FUNC VOLT", ":SOUR:VOLT 0.2",
                 ":SOUR:VOLT:ILIM 0.01", ":SENS:COUN 5", ":OUTP ON", ':TRAC:TRIG "defbuffer1"',
                 ':TRAC:DATA? 1, 5, "defbuffer1", READ, REL', ":OUTP OFF", ':TRAC:ACT? "defbuffer1"'])
    assert len((r[9] or "").split(",")) == 10
    assert r[11] == "5"
    # one setting, every path: short/long forms, optional nodes, MIN/MAX/DEF
    _run(k, [":SOURce1:VOLTage:LEVel:IMMediate:AMPLitude 1.5"])
    assert k.handle(":SOUR:VOLT?") == "+1.500000E+00"
    assert k.handle(":sour:volt? max") == "+2.100000E+02"
    _run(k, [":SOUR:VOLT:ILIM MAX", ":SENS:CURR:NPLC MIN"])
    assert k.handle(":SOURCE:VOLTAGE:ILIMIT:LEVEL?") == "+1.050000E+00"
    assert k.handle(":SENSe1:CURRent:DC:NPLCycles?") == "+1.000000E-02"
    _run(k, [":SENS:FUNC 'VOLT:DC'"])
    assert k.handle(":SENS:FUNC?") == '"VOLT:DC"'
    assert k.handle(":SOUR:FUNC?") == "VOLT"
    _run(k, [":SENS:CURR:RANG 2e-6"])
    assert (k.handle(":SENS:CURR:RANG?"), k.handle(":SENS:CURR:RANG:AUTO?")) == ("+1.000000E-05", "0")


def test_2400_form_elem_and_concurrent_functions(devices: dict[str, Any]) -> None:
    k = devices["smu1_aux"]
    _run(k, ["*RST", ":FORMat:ELEMents VOLTage, CURRent, RESistance, TIME, STATus", ":SOUR:VOLT 0.2",
             ":SENS:FUNC:CONC ON", ':SENS:FUNC "VOLT","CURR"', ":OUTP ON"])
    assert k.handle(":FORM:ELEM?") == "VOLT,CURR,RES,TIME,STAT"
    assert k.handle(":SENS:FUNC?") == '"VOLT:DC","CURR:DC"'
    values = (k.handle(":READ?") or "").split(",")
    assert len(values) == 5
    assert float(values[0]) == pytest.approx(0.2)
    assert float(values[2]) == pytest.approx(9.91e37)  # resistance not measured: NAN
    _run(k, [":FORM:ELEM CURR,VOLT", ":TRIG:COUN 3"])  # any order given; replies in the fixed order
    assert k.handle(":FORM:ELEM?") == "VOLT,CURR"
    assert len((k.handle(":READ?") or "").split(",")) == 6
    _run(k, [":SENS:VOLT:NPLC 0.5"])  # one global speed setting
    assert k.handle(":SENS:CURR:NPLC?") == "+5.000000E-01"
    _run(k, [":OUTP OFF", ":SOUR:CLE:AUTO OFF"])
    assert k.handle(":READ?") is None
    assert _errors(k) == ['803,"Output not on"']
    _run(k, [":SOUR:CLE:AUTO ON"])
    assert k.handle(":READ?") is not None
    assert k.handle(":OUTP?") == "0"  # auto output-off: on for the reading, off after it
    assert _errors(k) == []


def test_b2902_per_channel_settings_and_linked_aperture(devices: dict[str, Any]) -> None:
    b = devices["smu0"]
    _run(b, ["*RST", ":SOUR2:FUNC:MODE VOLT", ":SOUR2:VOLT 0.3", ":SENS2:CURR:PROT 0.02", ":SENS1:CURR:NPLC 1",
             ":SOURce2:FUNCtion:SHAPe PULSe", ":SOUR2:PULS:WIDT 1E-4"])
    assert b.handle(":SOUR2:FUNC:MODE?") == "VOLT"
    assert b.handle(":SOUR2:VOLT?") == "+3.000000E-01"
    assert b.handle(":SOUR1:VOLT?") == "+0.000000E+00"
    assert b.handle(":SENS2:CURR:PROT?") == "+2.000000E-02"
    assert b.handle(":SENS1:CURR:APER?") == "+2.000000E-02"  # 1 PLC at 50 Hz
    assert b.handle(":SOUR2:FUNC:SHAP?") == "PULS"
    assert b.handle(":SOUR2:PULS:WIDT?") == "+1.000000E-04"
    assert b.handle(":SOUR:PULS:WIDT? MIN") == "+5.000000E-05"
    b.handle(":SOUR3:VOLT 1")
    b.handle(":SOUR1:VOLT 300")
    b.handle(":SOUR1:FUNC:SHAP SQUARE")
    b.handle(":SOUR1:BOGUS 1")
    assert [int(e.split(",")[0]) for e in _errors(b)] == [-114, -222, -224, -113]


def test_current_sourcing_is_refused_not_silently_wrong(devices: dict[str, Any]) -> None:
    for name, on in (("smu0_aux", ":OUTP ON"), ("smu1_aux", ":OUTP ON"), ("smu0", ":OUTP1 ON")):
        dev = devices[name]
        _run(dev, ["*RST", ":SOUR:FUNC:MODE CURR" if name == "smu0" else ":SOUR:FUNC CURR"])
        dev.handle(on)
        assert [e.split(",")[0] for e in _errors(dev)] == ["-221"]
        assert dev.handle(":OUTP?" if name != "smu0" else ":OUTP1?") == "0"
        dev.handle("*RST")


def test_common_commands_and_status(devices: dict[str, Any]) -> None:
    k = devices["smu0_aux"]
    _run(k, ["*RST;:stat:pres;:*CLS;", "*ESE 32", "*SRE 32"])
    assert (k.handle("*ESE?"), k.handle("*SRE?"), k.handle("*TST?")) == ("32", "32", "0")
    k.handle(":NOPE")
    assert int(k.handle("*STB?") or 0) & 4 + 32 + 64 == 4 + 32 + 64
    assert k.handle(":SYST:ERR:COUN?") == "1"
    k.handle("*CLS")
    assert k.handle("*STB?") == "0"
