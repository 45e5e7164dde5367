"""Simulated instruments speaking their real command languages over a :class:`sim_instruments.bench.SimBench`."""

from __future__ import annotations

from sim_instruments.bench import SimBench
from sim_instruments.devices.b2201a import SimB2201A
from sim_instruments.devices.b2902 import SimB2902
from sim_instruments.devices.k707b import Sim707B
from sim_instruments.devices.k2400 import Sim2400
from sim_instruments.devices.k2450 import Sim2450
from sim_instruments.devices.k33500b import Sim33500B

DEVICES: dict[str, type[SimB2902 | Sim2450 | Sim2400 | SimB2201A | Sim707B | Sim33500B]] = {
    "keithley_2450": Sim2450,
    "keysight_b2902": SimB2902,
    "keithley_2400": Sim2400,
    "keysight_b2201a": SimB2201A,
    "keithley_707b": Sim707B,
    "keysight_33500b": Sim33500B,
}


def make_device(bench: SimBench, name: str) -> SimB2902 | Sim2450 | Sim2400 | SimB2201A | Sim707B | Sim33500B:
    """The simulated instrument ``name`` of the bench config."""
    cls = DEVICES[bench.config.instruments[name].driver]
    return cls(bench, name)


__all__ = ["DEVICES", "Sim707B", "Sim2400", "Sim2450", "Sim33500B", "SimB2201A", "SimB2902", "make_device"]
