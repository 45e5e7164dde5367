"""The 707B's connect rule in the timing model: how many relay settling times a channel call costs."""

from __future__ import annotations

import pytest

from labctl.bench import CONFIGS
from labctl.core.config import load_bench_config
from sim_instruments.bench import SimBench
from sim_instruments.devices import make_device


@pytest.fixture
def setup() -> tuple[SimBench, object]:
    bench = SimBench(load_bench_config(CONFIGS / "sim_bench_2600b.yaml"))
    return bench, make_device(bench, "matrix0b")


def _cost(bench: SimBench, m: object, message: str) -> float:
    """Bench time a matrix message takes until its relays have settled, in relay settling times."""
    t0 = bench.now()
    m.handle(message)  # type: ignore[attr-defined]
    bench.wait_relays()
    return (bench.now() - t0 - bench.timing.command) / bench.timing.relay_settle


def test_exclusiveclose_settles_twice_breaking_before_making_and_once_with_the_rule_off(setup: tuple) -> None:
    bench, m = setup
    assert m.handle("print(channel.connectrule)") == "1"  # break before make by default (manual)
    m.handle('channel.close("1B01:1B12")')
    bench.wait_relays()
    # column 1 from input B to E: an open and a close; break before make waits for the open, then the close
    assert _cost(bench, m, 'channel.exclusiveclose("1E01,1B02:1B12")') == pytest.approx(2.0)
    m.handle("channel.connectrule = channel.OFF")
    assert bench.matrices["matrix0b"].connect_rule == 0
    assert _cost(bench, m, 'channel.exclusiveclose("1B01,1E02,1B03:1B12")') == pytest.approx(1.0)
    assert bench.matrices["matrix0b"].closed == {(2, 1), (5, 2), *((2, c) for c in range(3, 13))}
    # separate calls settle each, whatever the rule
    assert _cost(bench, m, 'channel.open("1E02") channel.close("1B02")') == pytest.approx(2.0)
    # a call that moves nothing costs no settling
    assert _cost(bench, m, 'channel.exclusiveclose("1B01:1B12")') == pytest.approx(0.0)


def test_sequential_closures_settle_one_after_another_and_reset_restores_the_defaults(setup: tuple) -> None:
    bench, m = setup
    m.handle("channel.connectsequential = channel.ON")
    assert _cost(bench, m, 'channel.close("2C01:2C03")') == pytest.approx(3.0)
    m.handle("channel.connectsequential = channel.OFF")
    assert _cost(bench, m, 'channel.close("2C04:2C06")') == pytest.approx(1.0)
    m.handle("channel.connectrule = 7")
    assert (m.handle("print(errorqueue.next())") or "").startswith("-222\t")
    m.handle("channel.connectrule = channel.OFF reset()")
    assert m.handle("print(channel.connectrule)") == "1"
    assert bench.matrices["matrix0b"].closed == set()
