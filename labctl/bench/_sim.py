"""Starting the simulated bench: physics, simulated instruments, and their loopback servers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from labctl.core.config import BenchConfig, FaultConfig
from sim_instruments.bench import SimBench
from sim_instruments.devices import make_device
from sim_instruments.physics import Crossbar
from sim_instruments.server import SimServer

SERIAL_DRIVERS = {"keithley_2400"}


@dataclass
class Simulation:
    """In-process access to a simulated bench: ``crossbars[name]`` is the physics ``Crossbar``."""

    bench: SimBench
    devices: dict[str, Any]
    resources: dict[str, str]
    server: SimServer | None = None
    crossbars: dict[str, Crossbar] = field(default_factory=dict)

    def now(self) -> float:
        return self.bench.now()

    def set_fault(self, instrument: str, **fault: Any) -> None:
        """Change the faults of one simulated instrument at run time (``FaultConfig`` fields)."""
        if self.server is None:
            raise RuntimeError("faults need the TCP servers (transport='visa')")
        f = FaultConfig(**fault)
        self.server.faults[instrument] = f
        if instrument in self.bench.matrices:
            self.bench.matrices[instrument].stuck = set(f.stuck_relays)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


def start_simulation(config: BenchConfig, *, transport: str = "visa") -> Simulation:
    """Build the physics and simulated instruments; serve them on loopback TCP (``transport='visa'``) or
    in process (``'inproc'``, unit tests). Instruments whose resource is not ``sim`` are left alone."""
    bench = SimBench(config)
    names = [n for n, i in config.instruments.items() if i.resource == "sim"]
    devices = {n: make_device(bench, n) for n in names}
    if transport == "inproc":
        return Simulation(bench, devices, {n: f"inproc://{n}" for n in names}, None, bench.crossbars)
    if transport != "visa":
        raise ValueError(f"transport = {transport!r} is invalid; allowed: 'visa', 'inproc'")
    serial = {n for n in names if config.instruments[n].driver in SERIAL_DRIVERS}
    faults = dict(config.sim.faults) if config.sim else {}
    server = SimServer({n: d.handle for n, d in devices.items()}, serial=serial, faults=faults)
    resources = server.start()
    return Simulation(bench, devices, resources, server, bench.crossbars)
