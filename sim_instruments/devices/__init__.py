"""Simulated instruments speaking their real command languages over a :class:`sim_instruments.bench.SimBench`."""

from __future__ import annotations

import re
import zlib

from sim_instruments.bench import SimBench
from sim_instruments.devices.b2201a import SimB2201A
from sim_instruments.devices.b2902 import SimB2902
from sim_instruments.devices.k707b import Sim707B
from sim_instruments.devices.k2400 import Sim2400
from sim_instruments.devices.k2450 import Sim2450
from sim_instruments.devices.k2636b import Sim2636B
from sim_instruments.devices.k33500b import Sim33500B

SimDevice = SimB2902 | Sim2450 | Sim2400 | SimB2201A | Sim707B | Sim2636B | Sim33500B
DEVICES: dict[str, type[SimDevice]] = {
    "keithley_2450": Sim2450,
    "keysight_b2902": SimB2902,
    "keithley_2400": Sim2400,
    "keysight_b2201a": SimB2201A,
    "keithley_707b": Sim707B,
    "keithley_2600b": Sim2636B,
    "keysight_33500b": Sim33500B,
}


def make_device(bench: SimBench, name: str) -> SimDevice:
    """The simulated instrument ``name`` of the bench config."""
    cls = DEVICES[bench.config.instruments[name].driver]
    dev = cls(bench, name)
    dev.idn = with_serial(dev.idn, name)
    engine = getattr(dev, "engine", None)
    if engine is not None:  # a TSP instrument answers *IDN? and localnode.serialno from its engine
        engine.idn = dev.idn
    return dev


def with_serial(idn: str, name: str) -> str:
    """``*IDN?`` with a serial number of the model's form (its letters kept, its digits replaced) derived from
    the instrument's name: each simulated instrument has its own, the same on every start."""
    fields = idn.split(",")
    if len(fields) < 3:
        return idn
    serial = fields[2]
    digits = len(re.sub(r"\D", "", serial)) or 6
    number = zlib.crc32(name.encode()) % 10**digits
    fields[2] = re.sub(r"\d+$", "", serial) + f"{number:0{digits}d}" if re.search(r"\d", serial) else serial
    return ",".join(fields)


__all__ = ["DEVICES", "Sim707B", "Sim2400", "Sim2450", "Sim2636B", "Sim33500B", "SimB2201A", "SimB2902", "SimDevice",
           "make_device", "with_serial"]
