"""Property: whatever the caller asks, no command sent to any instrument exceeds the configured limits."""

from __future__ import annotations

import asyncio
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labctl.bench import DEFAULT_CONFIG, open_bench
from labctl.core import BiasScheme, LabctlError
from labctl.core.config import BenchConfig, load_bench_config

_data = load_bench_config(DEFAULT_CONFIG).model_dump()
for _x in _data["crossbars"].values():  # the property is about commands: a small array keeps the physics cheap
    _x.update(rows=8, cols=8)
    _x["wiring"]["cols"]["first_output"] = 65
CFG = BenchConfig.model_validate(_data)
LIM = CFG.limits
NUM = r"([-+0-9.eE]+)"
LEVEL = re.compile(r":SOUR\d?:VOLT(?::TRIG)? " + NUM)
WIDTH = re.compile(r":PULS:WIDT " + NUM)
COMPLIANCE = re.compile(r"(?::SENS\d?:CURR:PROT|:SOUR:VOLT:ILIM) " + NUM)

volts = st.floats(-4, 4, allow_nan=False) | st.sampled_from([0.3, -0.3, 0.30001, 3.5, -3.5, 3.5000001, -1e9])
op = st.one_of(
    st.tuples(st.just("pulse"), st.integers(-1, 8), st.integers(-1, 8), volts,
              st.floats(5e-5, 2e-3) | st.sampled_from([1e-9, 4.9e-5, 1e-2, 1.0000001e-2, 1.0]),
              st.sampled_from(list(BiasScheme))),
    st.tuples(st.just("read"), st.integers(0, 7), st.integers(0, 7), volts),
    st.tuples(st.just("infer"), st.lists(st.sampled_from([0.0, 0.1, -0.2, 0.3, 0.31, 2.0]), min_size=8,
                                         max_size=8)),
)


DONE: list[object] = []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, min_size=1, max_size=6))
def test_no_command_exceeds_the_limits(ops: list[tuple[object, ...]]) -> None:
    sent: list[str] = []
    done: list[object] = []

    async def run() -> None:
        async with open_bench(CFG, transport="inproc", log=lambda r, m: sent.append(m)) as bench:
            xbar = bench.crossbars["xbar0"]
            phys = bench.simulation.crossbars["xbar0"]  # type: ignore[union-attr]
            for o in ops:
                try:
                    if o[0] == "pulse":
                        await xbar.pulse(o[1], [o[2]], o[3], o[4], o[5])  # type: ignore[arg-type]
                    elif o[0] == "read":
                        await xbar.read(o[1], [o[2]], o[3])  # type: ignore[arg-type]
                    else:
                        await xbar.infer(o[1], [0, 1])  # type: ignore[arg-type]
                except LabctlError:
                    continue
                done.append(o[0])
            assert float(phys.peak_read_voltage.max()) <= LIM.read_clamp + 1e-9
            assert float(phys.peak_pulse_voltage.max()) <= LIM.max_program_voltage + 1e-9

    asyncio.run(run())
    DONE.extend(done)
    for msg in sent:
        for m in LEVEL.finditer(msg):
            assert abs(float(m.group(1))) <= LIM.max_program_voltage, msg
        for m in WIDTH.finditer(msg):
            assert LIM.min_pulse_width <= float(m.group(1)) <= LIM.max_pulse_width, msg
        for m in COMPLIANCE.finditer(msg):
            assert 0 < float(m.group(1)) <= LIM.compliance, msg
        if ":MEAS:CURR?" in msg or ":READ?" in msg:  # a read: every level in it is within the read clamp
            for m in LEVEL.finditer(msg):
                assert abs(float(m.group(1))) <= LIM.read_clamp, msg


def test_the_property_exercised_accepted_commands() -> None:
    """Guard against a vacuous property: some generated operations were accepted and sent."""
    if not DONE:
        test_no_command_exceeds_the_limits()
    assert "pulse" in DONE or "read" in DONE
