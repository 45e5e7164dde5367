"""Each driver against its simulator through the real transports (pyvisa-py over TCP, pyserial)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from instruments import Keithley707B, Keithley2400, Keithley2450, KeysightB2201A, KeysightB2902, SourceLimits
from labctl.bench import start_simulation
from labctl.core.config import BenchConfig
from labctl.core.transports import SerialTransport, VisaTransport, open_transport

CFG = BenchConfig.model_validate({
    "name": "small",
    "limits": {"compliance": 0.01, "min_pulse_width": 5e-5},
    "instruments": {
        "b2902": {"driver": "keysight_b2902", "resource": "sim"},
        "k2450": {"driver": "keithley_2450", "resource": "sim"},
        "k2400": {"driver": "keithley_2400", "resource": "sim"},
        "b2201a": {"driver": "keysight_b2201a", "resource": "sim", "cards": 2, "outputs_per_card": 12},
        "k707b": {"driver": "keithley_707b", "resource": "sim", "cards": 2, "outputs_per_card": 12, "inputs": 8},
    },
    "crossbars": {
        "a": {"rows": 8, "cols": 8, "wiring": {"matrix": "b2201a", "rows": {"first_output": 1},
              "cols": {"first_output": 13}, "inputs": [
                  {"input": 1, "source": "b2902", "channel": 1, "roles": ["drive"]},
                  {"input": 2, "source": "b2902", "channel": 2, "roles": ["bias", "sense"]},
                  {"input": 3, "source": "k2450", "roles": ["spare"]},
                  {"input": 5, "roles": ["ground"]}]}},
        "b": {"rows": 8, "cols": 8, "wiring": {"matrix": "k707b", "rows": {"first_output": 1},
              "cols": {"first_output": 13}, "inputs": [
                  {"input": 1, "source": "k2400", "roles": ["drive"]},
                  {"input": 2, "source": "b2902", "channel": 2, "roles": ["bias", "sense"]},
                  {"input": 8, "roles": ["ground"]}]}},
    },
    "sim": {"preset": "iitm_2024", "seed": 1},
})
LIM = SourceLimits.of(CFG.limits)


@pytest.fixture(scope="module")
def sim() -> Any:
    s = start_simulation(CFG)
    yield s
    s.stop()


def _resolved(amps: float, resolution: float) -> float:
    """``amps`` as a Keithley SMU on autorange reads it: the decade range holding it, ``resolution`` of that range."""
    rng = next(10.0**k for k in range(-8, 1) if abs(amps) <= 1.05 * 10.0**k)
    return round(amps / (rng * resolution)) * rng * resolution


def _g(sim: Any, name: str, r: int, c: int, v: float = 0.1) -> float:
    return float(np.asarray(sim.crossbars[name].array.current(v))[r, c]) / v


async def test_b2201a_and_2450_select_a_cell_and_measure(sim: Any) -> None:
    mat = KeysightB2201A("b2201a", open_transport(sim.resources["b2201a"]), LIM, cards=2, outputs_per_card=12)
    smu = Keithley2450("k2450", open_transport(sim.resources["k2450"]), LIM)
    assert isinstance(smu.transport, VisaTransport)
    await mat.configure()
    await smu.configure()
    # row 2 on the 2450 (input 3), every column grounded (input 5): the row current is the whole row's
    await mat.route({(3, 3)} | {(5, 13 + j) for j in range(8)})
    assert await mat.closed() == frozenset({(3, 3)} | {(5, 13 + j) for j in range(8)})
    i = await smu.read(0.1)
    assert i == pytest.approx(_resolved(sum(_g(sim, "a", 2, j) for j in range(8)) * 0.1, 1e-6), rel=1e-6)
    await smu.safe_state()
    await mat.safe_state()
    assert await mat.closed() == frozenset()


async def test_b2902_pulse_mode_reaches_the_physics(sim: Any) -> None:
    mat = KeysightB2201A("b2201a", open_transport(sim.resources["b2201a"]), LIM, cards=2, outputs_per_card=12)
    smu = KeysightB2902("b2902", open_transport(sim.resources["b2902"]), LIM)
    await mat.configure()
    await smu.configure()
    phys = sim.crossbars["a"]
    phys.reset_peaks()
    await mat.route({(1, 1), (5, 13)})  # cell (0, 0): row on ch1, column grounded, others floating
    await smu.pulse_channels({1: 1.2}, 1e-4, measure=1)
    assert phys.peak_pulse_voltage[0, 0] == pytest.approx(1.2, abs=1e-9)
    await mat.safe_state()


async def test_2400_over_serial_and_707b_tsp(sim: Any) -> None:
    mat = Keithley707B("k707b", open_transport(sim.resources["k707b"]), LIM, cards=2, outputs_per_card=12,
                       inputs=8)
    smu = Keithley2400("k2400", open_transport(sim.resources["k2400"]), LIM)
    assert isinstance(smu.transport, SerialTransport)
    await mat.configure()
    await smu.configure()
    await mat.route({(1, 5)} | {(8, 13 + j) for j in range(8)})  # row 4 driven, all columns grounded
    i = await smu.read(-0.2)
    phys = float(np.asarray(sim.crossbars["b"].array.current(-0.2))[4, :].sum())
    assert i == pytest.approx(_resolved(phys, 1e-5), rel=1e-6)
    await mat.safe_state()
    await smu.safe_state()
    assert await mat.closed() == frozenset()
    await mat.check_errors()


async def test_tcp_transports_send_each_message_at_once(sim: Any) -> None:
    """Nagle off on every TCP link (pyvisa-py SOCKET sessions and pyserial socket:// leave it on: a command then a
    query would wait ~40 ms for the instrument's delayed ACK)."""
    import socket

    for name in ("b2902", "k707b", "k2400"):
        tr = open_transport(sim.resources[name])
        try:
            if isinstance(tr, VisaTransport):
                res = tr._link()
                sock = res.visalib.sessions[res.session].interface
            else:
                assert isinstance(tr, SerialTransport)
                sock = tr._link()._socket
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1, name
        finally:
            await tr.close()
