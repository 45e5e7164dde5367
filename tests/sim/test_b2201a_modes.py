"""The simulated B2201A follows the B2200 user's guide: channel numbers per configuration mode, connection rule and
sequence, bias / ground / couple modes (and their effect on the crossbar lines), settings read back, errors queued."""

from __future__ import annotations

import pytest

from labctl.bench import DEFAULT_CONFIG
from labctl.core.config import load_bench_config
from sim_instruments.bench import SimBench
from sim_instruments.devices import SimB2201A, make_device


@pytest.fixture
def bench() -> SimBench:
    return SimBench(load_bench_config(DEFAULT_CONFIG))


def _dev(bench: SimBench, name: str = "matrix0a") -> SimB2201A:
    d = make_device(bench, name)
    assert isinstance(d, SimB2201A)
    return d


def _errors(d: SimB2201A) -> list[str]:
    out = []
    while (e := d.handle(":SYST:ERR?")) != '0,"No error"':
        assert e is not None
        out.append(e)
    return out


def test_the_guides_normal_config_example(bench: SimBench) -> None:
    d = _dev(bench)
    d.handle(":ROUT:FUNC NCON")
    d.handle(":ROUT:OPEN:CARD ALL")
    d.handle(":ROUT:CLOS (@10101,10202)")
    assert d.handle(":ROUT:OPEN? (@10101,10102,10201,10202)") == "0,1,1,0"
    assert d.handle(":ROUT:CLOS:CARD? 1") == "(@10101,10202)"
    assert d.handle(":ROUT:CLOS:CARD? 2") == "(@)"
    assert _errors(d) == []


def test_channel_numbers_depend_on_the_configuration_mode(bench: SimBench) -> None:
    d = _dev(bench)  # power-on: auto config, the four cards are card 0 with outputs 1..48
    assert d.handle(":ROUTe:FUNCtion?") == "ACON"
    d.handle(":CLOS (@00148,00214)")
    assert bench.matrices["matrix0a"].closed == {(1, 48), (2, 14)}
    assert d.handle(":ROUT:CLOS:CARD? 0") == "(@00148,00214)"
    d.handle(":ROUT:CLOS (@10101)")  # a normal-config number in auto config: refused, nothing moves
    d.handle(":ROUT:CLOS (@00149)")  # beyond 4 x 12 outputs
    assert [e.split(",")[0] for e in _errors(d)] == ["-222", "-222"]
    assert bench.matrices["matrix0a"].closed == {(1, 48), (2, 14)}
    d.handle("FUNC NCONfig")  # a new mode starts from the reset state (relays open)
    assert d.handle(":FUNC?") == "NCON"
    assert bench.matrices["matrix0a"].closed == set()
    d.handle(":ROUT:CLOS (@40112,20102)")  # card 4 output 12 = output 48; card 2 output 2 = output 14
    assert bench.matrices["matrix0a"].closed == {(1, 48), (1, 14)}
    d.handle(":ROUT:CLOS (@00101)")
    d.handle(":ROUT:CLOS (@50101)")
    d.handle(":ROUT:CLOS:CARD? 0")
    assert [e.split(",")[0] for e in _errors(d)] == ["-222", "-222", "-222"]
    assert d.handle(":ROUT:CLOS:CARD? 4;:ROUT:CLOS:CARD? 2") == "(@40112);(@20102)"


def test_single_route_releases_by_card_and_sequence_sets_the_timing(bench: SimBench) -> None:
    d = _dev(bench)
    d.handle(":ROUT:CONN:RULE 0,SROU")
    assert d.handle(":ROUT:CONN:RULE? 0;:ROUT:CONN:SEQ? 0") == "SROU;BBM"
    d.handle(":CLOS (@00248)")
    d.handle(":CLOS (@00509)")
    d.handle(":CLOS (@00212)")  # input 2 moves: 2->48 is released
    assert bench.matrices["matrix0a"].closed == {(2, 12), (5, 9)}
    settle = bench.timing.relay_settle
    for seq, steps in (("NSEQ", 1), ("BBM", 2), ("MBBREAK", 2)):
        d.handle(f":ROUT:CONN:SEQ 0,{seq}")
        t0 = bench.now()
        d.handle(":CLOS (@00213)")  # releases 2->12, makes 2->13
        d.handle(":CLOS (@00212)")
        elapsed = bench.now() - t0 - 2 * bench.timing.command  # two messages
        assert elapsed == pytest.approx(2 * steps * settle, rel=1e-6), seq
    assert d.handle(":CONN:SEQ? 0") == "MBBR"
    # normal config: single route holds per card, so input 1 may stay on one output of each card
    d.handle(":ROUT:FUNC NCON;:ROUT:CONN:RULE ALL,SROU")
    d.handle(":ROUT:CLOS (@10101,20101)")
    d.handle(":ROUT:CLOS (@10102)")
    assert bench.matrices["matrix0a"].closed == {(1, 2), (1, 13)}
    assert _errors(d) == []


def test_bias_mode_holds_free_outputs_on_the_bias_port(bench: SimBench) -> None:
    d = _dev(bench)
    d.handle(":ROUT:BIAS:CHAN:DIS (@00115,00117)")
    assert d.handle(":ROUT:BIAS:CHAN:ENAB? (@00114,00115)") == "1,0"
    d.handle(":ROUT:BIAS 0,ON")
    closed = bench.matrices["matrix0a"].closed
    assert closed == {(10, o) for o in range(1, 49) if o not in (15, 17)}
    d.handle(":ROUT:CLOS (@00411)")  # output 11 leaves the bias port
    assert (10, 11) not in bench.matrices["matrix0a"].closed
    assert (4, 11) in bench.matrices["matrix0a"].closed
    d.handle(":ROUT:OPEN (@00411)")  # ...and returns to it
    assert (10, 11) in bench.matrices["matrix0a"].closed
    d.handle(":ROUT:CLOS (@01017)")  # the bias port cannot be named
    d.handle(":ROUT:AGND 0,ON")  # ground mode excludes bias mode
    assert [e.split(",")[0] for e in _errors(d)] == ["+3014", "-221"]
    assert d.handle("*ESR?") == str(8 | 16)  # device-dependent and execution error
    d.handle(":ROUT:BIAS:PORT 0,9")
    assert d.handle(":BIAS:PORT? 0;:BIAS? 0") == "9;1"
    assert (9, 1) in bench.matrices["matrix0a"].closed
    assert (10, 1) not in bench.matrices["matrix0a"].closed
    d.handle("*RST")  # defaults back: bias off on port 10, every output enabled; the mode stays auto config
    assert d.handle(":BIAS:PORT? 0;:BIAS? 0;:FUNC?") == "10;0;ACON"
    assert bench.matrices["matrix0a"].closed == set()


def test_ground_mode_grounds_free_outputs_through_the_instrument(bench: SimBench) -> None:
    """Port 12 is grounded inside the instrument: a column no relay reaches otherwise floats, in ground mode it
    sits at 0 V even though nothing is wired to input 12."""
    col_dev = _dev(bench, "matrix0b")  # xbar0 column 0 is output 65 = matrix0b output 17
    assert bench.lines("xbar0")[1][0] is None
    col_dev.handle(":ROUT:AGND:CHAN:ENAB (@00117)")
    assert col_dev.handle(":ROUT:AGND:CHAN:ENAB:CARD? 0") == "(@01217)"
    col_dev.handle(":ROUT:AGND:UNUS 0,'5,6'")
    col_dev.handle(":ROUT:AGND 0,ON")
    assert col_dev.handle(":AGND? 0;:AGND:PORT? 0;:AGND:UNUS? 0") == "1;12;'5,6'"
    assert col_dev.handle(":ROUT:CLOS:CARD? 0") == "(@01217)"
    assert bench.lines("xbar0")[1][0] == 0.0
    col_dev.handle(":ROUT:CLOS (@01217)")  # the ground port cannot be named, nor an unused input
    col_dev.handle(":ROUT:CLOS (@00517)")
    assert [e.split(",")[0] for e in _errors(col_dev)] == ["+3022", "+3022"]
    col_dev.handle(":ROUT:AGND 0,OFF")
    assert bench.lines("xbar0")[1][0] is None


def test_couple_mode_moves_input_pairs_onto_output_pairs(bench: SimBench) -> None:
    d = _dev(bench)
    d.handle(":ROUT:COUP:PORT 0,'1,3'")
    d.handle(":ROUT:COUP 0,ON")
    assert d.handle(":COUP? 0;:COUP:PORT? 0") == "1;'1,3'"
    d.handle(":ROUT:CLOS (@00211)")  # input 2 belongs to pair (1,2), output 11 to pair (11,12)
    assert bench.matrices["matrix0a"].closed == {(1, 11), (2, 12)}
    d.handle(":ROUT:OPEN (@00111)")
    assert bench.matrices["matrix0a"].closed == set()
    d.handle(":ROUT:COUP:PORT 0,'2'")  # pairs start on odd inputs
    assert [e.split(",")[0] for e in _errors(d)] == ["-222"]


def test_settings_are_per_card_in_normal_config_and_symbols_read_back(bench: SimBench) -> None:
    d = _dev(bench)
    d.handle(":ROUT:FUNC NCON")
    d.handle(":ROUT:CONN:RULE 2,SROU;:ROUT:CONN:SEQ ALL,NSEQ")
    assert d.handle(":ROUT:CONN:RULE? 1;:ROUT:CONN:RULE? 2;:ROUT:CONN:SEQ? 4") == "FREE;SROU;NSEQ"
    d.handle(":ROUT:CONN:RULE? 0")  # card 0 exists in auto config only
    d.handle(":ROUT:CONN:RULE 1,SINGLE")
    assert [e.split(",")[0] for e in _errors(d)] == ["-222", "-224"]
    d.handle(":ROUT:SYMB:CHAN 1,3,'ROW0'")
    assert d.handle(":ROUT:SYMB:CHAN? 1,3;:ROUT:SYMB:CHAN? 2,3") == "'ROW0';'03'"
    assert d.handle(":SYST:CTYP? 1") == "AGILENT,B2211A,0,A.01.00"
    assert d.handle("*IDN?").startswith("AGILENT TECHNOLOGIES,B2201A,MY")  # type: ignore[union-attr]
    assert d.handle("*IDN?") != _dev(bench, "matrix0b").handle("*IDN?")  # a serial number of its own
