"""A third-party VISA client that knows only the manuals talks to the simulated bench (no labctl driver code)."""

from __future__ import annotations

import numpy as np
import pytest
import pyvisa

from labctl.bench import DEFAULT_CONFIG, start_simulation
from labctl.core.config import load_bench_config


def test_plain_pyvisa_selects_a_cell_sources_and_measures() -> None:
    sim = start_simulation(load_bench_config(DEFAULT_CONFIG))
    rm = pyvisa.ResourceManager("@py")
    try:
        smu = rm.open_resource(sim.resources["smu0_aux"], read_termination="\n", write_termination="\n")
        mat = rm.open_resource(sim.resources["matrix0a"], read_termination="\n", write_termination="\n")
        mat_b = rm.open_resource(sim.resources["matrix0b"], read_termination="\n", write_termination="\n")
        smu.timeout = mat.timeout = 10000  # a floating-line KCL solve on 64x64 can take seconds on a busy CI
        assert smu.query("*IDN?").startswith("KEITHLEY INSTRUMENTS INC.,MODEL 2450")
        assert mat.query("*idn?").startswith("AGILENT TECHNOLOGIES,B2201A,")
        mat.write(":ROUT:FUNC NCON")  # normal config: channel = card, input, output on the card
        mat_b.write(":ROUT:FUNC NCON")
        # cell (row 3, col 7): row 3 = output 4 = matrix0a card 1 output 04, on input 4 (the 2450); col 7 =
        # output 72 = matrix0b output 24 = its card 2 output 12, on input 5 (ground); every other line floats
        mat.write(":ROUTe:CLOSe (@10404)")
        mat_b.write(":ROUT:CLOS (@20512)")
        assert mat.query(":ROUT:CLOS? (@10404,10405)") == "1,0"
        assert mat_b.query(":ROUT:CLOS? (@20512)") == "1"
        smu.write("*RST")
        smu.write(":SOUR:FUNC VOLT")
        smu.write(":SOUR:VOLT:ILIM 0.01")
        smu.write(':SENS:FUNC "CURR"')
        smu.write(":SOUR:VOLT 0.1")
        smu.write(":OUTP ON")
        measured = float(smu.query(":MEAS:CURR?"))
        smu.write(":OUTP OFF")
        assert smu.query(":SYST:ERR?").startswith("0,")
        # the physics: same line conditions, all others floating (sneak paths included)
        phys = sim.crossbars["xbar0"]
        rows: list[float | None] = [None] * 64
        cols: list[float | None] = [None] * 64
        rows[3], cols[7] = 0.1, 0.0
        v = phys.cell_voltages(rows, cols)
        expected = float(np.asarray(phys.array.current(v))[3, :].sum())
        assert measured == pytest.approx(expected, rel=0.05)
        assert measured > float(np.asarray(phys.array.current(0.1))[3, 7])  # sneak paths add current
        # standard SCPI errors
        smu.write(":SOUR:BOGUS 1")
        smu.write(":SOUR:VOLT 1e6")
        smu.write(":SOUR:VOLT abc")
        codes = [int(smu.query(":SYSTem:ERRor:NEXT?").split(",")[0]) for _ in range(4)]
        assert codes == [-113, -222, -104, 0]
        assert smu.query("*OPC?") == "1"
        smu.close()
        mat.close()
        mat_b.close()
    finally:
        sim.stop()
