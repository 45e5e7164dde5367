"""QCoDeS's own Keysight B2200/B2201 driver, unchanged, against ``labctl sim serve`` in another process (loopback
TCP socket resource), in the driver's own mode (auto configuration, card 0): identify, reset, connect, query,
disconnect, rule and sequence, bias / ground / couple modes. Every command it sends is understood (status byte
and error queue empty) and the state it sets reads back."""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("qcodes")
from qcodes.instrument_drivers.Keysight.keysight_b220x import KeysightB2201

LABCTL = str(Path(sys.executable).parent / "labctl")


@pytest.fixture(scope="module")
def resources() -> Iterator[dict[str, str]]:
    proc = subprocess.Popen([LABCTL, "sim", "serve", "--control"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        out: dict[str, str] = {}
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip() == "ready":
                break
            name, _driver, resource = line.rstrip("\n").split("\t")
            out[name] = resource
        assert "matrix0a" in out, "labctl sim serve exited before printing its resources"
        yield out
    finally:
        if proc.stdin is not None:
            proc.stdin.close()  # the server stops when its control input ends
        proc.wait(timeout=20)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.fixture
def switch(resources: dict[str, str]) -> Iterator[KeysightB2201]:
    sw = KeysightB2201("b2201_qcodes", address=resources["matrix0a"], visalib="@py", timeout=10)
    try:
        yield sw
    finally:
        sw.close()


def _clean(sw: KeysightB2201) -> None:
    assert sw.get_status() == 0
    assert sw.get_error().startswith(("0,", "+0,"))


def test_identify_reset_connect_query_disconnect(switch: KeysightB2201) -> None:
    sw = switch
    idn = sw.IDN()
    assert (idn["vendor"], idn["model"]) == ("AGILENT TECHNOLOGIES", "B2201A")
    assert "AGILENT" in idn["vendor"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the driver warns when the status byte shows an error
        sw.clear_status()
        sw.reset()
        assert sw.ask(":ROUT:FUNC?") == "ACON"  # the mode this driver is written for
        assert sw.connections() == set()
        sw.connect(2, 48)
        sw.connect(14, 3)
        assert sw.connections() == {(2, 48), (14, 3)}
        sw.disconnect(14, 3)
        assert sw.connections() == {(2, 48)}
        sw.connect_paths([(3, 45), (11, 9)])
        assert sw.connections() == {(2, 48), (3, 45), (11, 9)}
        sw.disconnect_paths([(3, 45), (11, 9)])
        sw.disconnect_all()
        assert sw.connections() == set()
    _clean(sw)


def test_rule_and_sequence(switch: KeysightB2201) -> None:
    sw = switch
    sw.reset()
    assert sw.connection_rule() == "free"
    assert sw.connection_sequence() == "bbm"
    with pytest.warns(UserWarning, match="free"):  # the driver's own note on going from free to single
        sw.connection_rule("single")
    assert sw.connection_rule() == "single"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sw.connect(2, 48)
        sw.connect(5, 9)
        sw.connect(2, 12)  # single route: 2->48 is released
        assert sw.connections() == {(2, 12), (5, 9)}
        for seq in ("mbb", "none", "bbm"):
            sw.connection_sequence(seq)
            assert sw.connection_sequence() == seq
    _clean(sw)


def test_bias_ground_and_couple_modes(switch: KeysightB2201) -> None:
    sw = switch
    sw.reset()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sw.bias_input_port() == 10
        assert sw.gnd_input_port() == 12
        assert not sw.bias_mode()
        assert not sw.gnd_mode()
        sw.bias_disable_output(15)
        sw.bias_disable_output(17)
        sw.bias_mode(True)
        assert sw.bias_mode()
        conns = sw.connections()
        assert conns == {(10, o) for o in range(1, 49) if o not in (15, 17)}
        sw.connect(4, 11)
        assert (4, 11) in sw.connections()
        assert (10, 11) not in sw.connections()
        sw.disconnect(4, 11)
        assert (10, 11) in sw.connections()
        sw.bias_mode(False)
        sw.bias_enable_all_outputs()
        sw.unused_inputs([5, 6, 7, 8])
        assert sw.unused_inputs() == [5, 6, 7, 8]
        sw.gnd_enable_output(12)
        sw.gnd_enable_output(33)
        sw.gnd_mode(True)
        assert sw.gnd_mode()
        assert sw.connections() == {(12, 12), (12, 33)}
        sw.connect(4, 33)
        assert sw.connections() == {(12, 12), (4, 33)}
        sw.disconnect(4, 33)
        sw.gnd_disable_output(12)
        assert sw.connections() == {(12, 33)}
    with pytest.warns(UserWarning, match="status byte"):
        sw.connect(12, 22)  # the ground port cannot be named: the instrument reports an error
    assert sw.get_error().startswith("+3022,")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sw.gnd_mode(False)
        sw.gnd_disable_all_outputs()
        sw.unused_inputs([])
        sw.disconnect_all()
        sw.couple_ports([1, 3])
        assert sw.couple_ports() == [1, 3]
        sw.couple_mode(True)
        assert sw.couple_mode()
        sw.connect(3, 17)
        assert sw.connections() == {(3, 17), (4, 18)}
        sw.disconnect(3, 17)
        sw.couple_port_autodetect()
        sw.couple_mode(False)
        assert sw.connections() == set()
    _clean(sw)
