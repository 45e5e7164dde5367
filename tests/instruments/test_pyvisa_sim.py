"""Drivers against their pyvisa-sim files: identity, settings dialogues and error paths."""

from __future__ import annotations

from pathlib import Path

import pytest

import instruments
from instruments import Keithley2450, KeysightB2902, SourceLimits
from labctl.core import InstrumentError, SafetyLimits, TransportError
from labctl.core.transports import open_transport

SIM = Path(instruments.__file__).parent / "sim"
LIM = SourceLimits.of(SafetyLimits(compliance=1e-3))


async def test_2450_identity_configuration_and_safe_state() -> None:
    t = open_transport(f"GPIB0::18::INSTR|{SIM / 'keithley_2450.yaml'}@sim", timeout=0.5)
    smu = Keithley2450("k", t, LIM)
    await smu.configure()
    assert "MODEL 2450" in smu.idn
    await smu.safe_state()
    await smu.disconnect()


async def test_2450_in_the_wrong_language_mode_is_refused() -> None:
    t = open_transport(f"GPIB0::19::INSTR|{SIM / 'keithley_2450.yaml'}@sim", timeout=0.5)
    with pytest.raises(InstrumentError, match="SCPI2400"):
        await Keithley2450("k", t, LIM).configure()
    await t.close()


async def test_b2902_configuration_and_error_queue() -> None:
    t = open_transport(f"TCPIP::127.0.0.1::5025::SOCKET|{SIM / 'keysight_b2902.yaml'}@sim", timeout=0.3)
    smu = KeysightB2902("b", t, LIM, retries=0)
    await smu.configure()
    await smu.safe_state()
    await t.write(":NOT:A:COMMAND")
    assert (await smu.errors())[0].startswith("-113")
    with pytest.raises(TransportError, match="timeout"):  # a query the file does not know: no reply
        await smu.measure_current(1)
    await smu.disconnect()
