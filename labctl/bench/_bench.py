"""``open_bench``: build drivers (and simulators) from a bench config; ``Bench`` owns them for its lifetime."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from labctl.bench._access import BenchCrossbar
from labctl.bench._sim import SimProcess, Simulation, start_simulation
from labctl.bench._wiring import Wiring
from labctl.core.config import BenchConfig, load_bench_config
from labctl.core.errors import ConfigError
from labctl.core.transports import TransportLog, open_transport
from sim_instruments.check import check_sim

log = logging.getLogger("labctl.bench")


class Bench:
    """An open bench: drivers by name, ``crossbars`` (CrossbarAccess), and ``simulation`` when simulated."""

    def __init__(self, config: BenchConfig, instruments: dict[str, Any],
                 simulation: Simulation | SimProcess | None) -> None:
        self.config = config
        self.instruments = instruments
        self.simulation = simulation
        self.safe_events: list[str] = []
        self._t0 = time.monotonic()
        self.crossbars: dict[str, BenchCrossbar] = {
            name: BenchCrossbar(self, Wiring.of(name, xb, config), config.limits)
            for name, xb in config.crossbars.items()
        }
        for mname, drv in instruments.items():
            if config.instruments[mname].is_matrix:
                drv.live_inputs = self._live_inputs_of(mname)

    def _live_inputs_of(self, matrix: str) -> Any:
        feeds = [(w.input, w.source, w.channel) for xb in self.config.crossbars.values()
                 if matrix in xb.wiring.matrices for w in xb.wiring.inputs if w.source is not None]

        def live() -> set[int]:
            return {inp for inp, src, ch in feeds if self.instruments[src].is_live(ch)}

        return live

    def smu(self, name: str) -> Any:
        return self.instruments[name]

    def matrix(self, name: str) -> Any:
        return self.instruments[name]

    def now(self) -> float:
        """Bench time, s: virtual on a simulated bench, wall time since opening on a real one."""
        return self.simulation.now() if self.simulation is not None else time.monotonic() - self._t0

    async def wait(self, seconds: float) -> None:
        """Let ``seconds`` of bench time pass with every output off: on a simulated bench the virtual clock
        advances (the physics idles: relaxation acts), on a real bench this sleeps."""
        if not seconds > 0:
            return
        if self.simulation is not None:
            await asyncio.to_thread(self.simulation.advance, float(seconds))
        else:
            await asyncio.sleep(seconds)

    def estimated_bench_seconds(self) -> float:
        """Time the work so far takes on the bench, s (the simulators' timing model on a simulated bench)."""
        return self.now()

    async def safe_state(self, reason: str = "requested") -> None:
        """Outputs off first, then relays open. Never raises; logs what it did and what failed."""
        failures: list[str] = []
        smus = [d for n, d in self.instruments.items() if not self.config.instruments[n].is_matrix]
        mats = [d for n, d in self.instruments.items() if self.config.instruments[n].is_matrix]
        for group in (smus, mats):
            results = await asyncio.shield(asyncio.gather(*(_safe(d) for d in group), return_exceptions=True))
            failures += [f"{d.name}: {r}" for d, r in zip(group, results, strict=True) if r is not None]
        msg = f"bench {self.config.name}: safe state (outputs off, relays open) after: {reason}"
        if failures:
            msg += "; FAILED on " + "; ".join(failures)
            log.error(msg)
        else:
            log.warning(msg) if "requested" not in reason else log.info(msg)
        self.safe_events.append(msg)

    async def snapshot(self) -> dict[str, Any]:
        snap: dict[str, Any] = {
            "bench": self.config.name,
            "instruments": {n: d.snapshot() for n, d in self.instruments.items()},
            "limits": self.config.limits.model_dump(),
            "crossbars": {n: {"rows": x.rows, "cols": x.cols} for n, x in self.crossbars.items()},
            "time": self.now(),
        }
        if self.config.sim is not None:
            snap["sim"] = self.config.sim.model_dump(mode="json")
        return snap


async def _safe(driver: Any) -> str | None:
    try:
        await asyncio.wait_for(driver.safe_state(), timeout=max(5.0, 3 * driver.transport.timeout))
        return None
    except BaseException as exc:
        if isinstance(exc, asyncio.CancelledError):
            raise
        return f"{type(exc).__name__}: {exc}"


def build_driver(name: str, config: BenchConfig, *, log: TransportLog | None = None) -> Any:
    """The driver of instrument ``name`` of a real bench, connected but not configured (blocking: call it off the
    event loop). ``log(resource, message)`` sees every message sent."""
    resource = config.instruments[name].resource
    if resource == "sim":
        raise ConfigError.invalid(f"instruments.{name}.resource", "sim", "a resource on a real bench")
    return _build_driver(name, config, resource, None, log)


#: I/O timeout of a real instrument whose config sets none, s
REAL_TIMEOUT = 2.0


def io_timeout(config: BenchConfig, name: str) -> float:
    """Instrument ``name``'s I/O timeout, s: its own ``timeout`` when the config sets one; otherwise a simulated
    instrument (resource 'sim') gets ``sim.timeout`` (the simulator shares a possibly loaded machine's CPUs) and
    a real one :data:`REAL_TIMEOUT`."""
    inst = config.instruments[name]
    if inst.timeout is not None:
        return float(inst.timeout)
    if config.sim is not None and inst.resource == "sim":
        return float(config.sim.timeout)
    return REAL_TIMEOUT


def _build_driver(name: str, config: BenchConfig, resource: str, sim: Simulation | None,
                  log_fn: TransportLog | None) -> Any:
    from instruments import DRIVERS, SourceLimits

    inst = config.instruments[name]
    handlers = {n: d.handle for n, d in sim.devices.items()} if sim is not None else None
    transport = open_transport(resource, timeout=io_timeout(config, name), baud=inst.baud, log=log_fn, inproc=handlers)
    limits = SourceLimits.of(config.limits, inst.limits.max_voltage, inst.limits.compliance)
    cls = DRIVERS[inst.driver]
    if inst.is_matrix:
        return cls(name, transport, limits, retries=inst.retries, cards=inst.cards,  # type: ignore[call-arg]
                   outputs_per_card=inst.outputs_per_card, inputs=inst.inputs)
    return cls(name, transport, limits, retries=inst.retries)


@asynccontextmanager
async def open_bench(config: BenchConfig | str | Path, *, transport: str = "visa",
                     log: TransportLog | None = None) -> AsyncIterator[Bench]:
    """Open a bench. A simulated config starts its instrument servers on loopback TCP and connects the drivers
    through pyvisa-py: in this process (``transport='visa'``), or in a child process of their own
    (``'process'``: the physics and servers out of this process's GIL, as the service runs them);
    ``'inproc'`` skips the sockets, for unit tests. ``log(resource, message)``
    sees every message sent. The bench is put in its safe state on exit."""
    cfg = config if isinstance(config, BenchConfig) else load_bench_config(config)
    if cfg.sim is not None:
        check_sim(cfg, str(config) if not isinstance(config, BenchConfig) else f"bench {cfg.name!r}")
    sim: Simulation | SimProcess | None = None
    if cfg.simulated and transport == "process":
        sim = await asyncio.to_thread(SimProcess, cfg)
    elif cfg.simulated:
        sim = start_simulation(cfg, transport=transport)
    in_process = sim if isinstance(sim, Simulation) else None
    drivers: dict[str, Any] = {}
    try:
        for name, inst in cfg.instruments.items():
            resource = sim.resources[name] if sim is not None and name in sim.resources else inst.resource
            if resource == "sim":
                raise ConfigError.invalid(f"instruments.{name}.resource", "sim", "a resource on a real bench")
            drivers[name] = await asyncio.to_thread(_build_driver, name, cfg, resource, in_process, log)
        await asyncio.gather(*(d.configure() for d in drivers.values()))
        bench = Bench(cfg, drivers, sim)
        try:
            yield bench
        finally:
            await bench.safe_state(reason="bench closed")
    finally:
        for d in drivers.values():
            try:
                await d.disconnect()
            except Exception as exc:
                logging.getLogger("labctl.bench").warning("%s: disconnect failed: %s", d.name, exc)
        if sim is not None:
            sim.stop()
