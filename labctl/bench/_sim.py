"""Starting the simulated bench: physics, simulated instruments, and their loopback servers, in this process
(:func:`start_simulation`) or in a child process (:class:`SimProcess`, the code of ``labctl sim serve``)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from typing import IO, Any

from labctl.core.config import BenchConfig, FaultConfig
from sim_instruments.bench import SimBench
from sim_instruments.devices import make_device
from sim_instruments.physics import Crossbar
from sim_instruments.server import SimServer

SERIAL_DRIVERS = {"keithley_2400"}
PROCESS_SPIN = 1e-3
"""Spin window (s) of a server with a process of its own (see :mod:`sim_instruments.server`)."""


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
        if instrument not in self.devices:
            raise KeyError(f"instrument = {instrument!r} is not simulated; allowed: {sorted(self.devices)}")
        f = FaultConfig(**fault)
        self.server.faults[instrument] = f
        if instrument in self.bench.matrices:
            self.bench.matrices[instrument].stuck = set(f.stuck_relays)

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of virtual time pass with every source off (the physics idles)."""
        self.bench.advance(float(seconds))

    def physical_state(self) -> dict[str, Any]:
        """The simulated instruments' own state (not the drivers' belief): sources on, relays closed."""
        return {"sources_on": sorted(f"{n}:{ch}" for (n, ch), src in self.bench.sources.items() if src.on),
                "closed": {m: sorted(list(p) for p in st.closed) for m, st in self.bench.matrices.items()}}

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


def start_simulation(config: BenchConfig, *, transport: str = "visa", spin: float = 0.0,
                     base_port: int | None = None) -> Simulation:
    """Build the physics and simulated instruments; serve them on loopback TCP (``transport='visa'``) or
    in process (``'inproc'``, unit tests). Instruments whose resource is not ``sim`` are left alone.
    ``spin``: the servers' spin window (s; keep 0 in a process that also runs clients). ``base_port``: serve
    the simulated instruments on ``base_port``, ``base_port + 1``, ... in the order the bench YAML lists them
    (default: any free ports)."""
    bench = SimBench(config)
    names = [n for n, i in config.instruments.items() if i.resource == "sim"]
    devices = {n: make_device(bench, n) for n in names}
    if transport == "inproc":
        return Simulation(bench, devices, {n: f"inproc://{n}" for n in names}, None, bench.crossbars)
    if transport != "visa":
        raise ValueError(f"transport = {transport!r} is invalid; allowed: 'visa', 'inproc'")
    serial = {n for n in names if config.instruments[n].driver in SERIAL_DRIVERS}
    faults = dict(config.sim.faults) if config.sim else {}
    server = SimServer({n: d.handle for n, d in devices.items()}, serial=serial, faults=faults, spin=spin,
                       lock=bench.lock)
    ports = None
    if base_port is not None:
        if not 1 <= base_port <= 65536 - len(names):
            raise ValueError(f"base_port = {base_port} is out of range; allowed [1, {65536 - len(names)}]")
        ports = {n: base_port + i for i, n in enumerate(names)}
    resources = server.start(ports)
    return Simulation(bench, devices, resources, server, bench.crossbars)


def serve_control(sim: Simulation, commands: IO[str], replies: IO[str]) -> None:
    """Apply control lines until ``commands`` ends: ``{"fault": NAME, ...FaultConfig fields}`` or
    ``{"now": true}``; each gets one JSON reply line (``{"ok": ...}`` or ``{"error": "..."}``)."""
    for line in commands:
        if not line.strip():
            continue
        try:
            msg = json.loads(line)
            if "fault" in msg:
                name = msg.pop("fault")
                sim.set_fault(name, **msg)
                out: dict[str, Any] = {"ok": name}
            elif "now" in msg:
                out = {"ok": sim.now()}
            elif "advance" in msg:
                sim.advance(float(msg["advance"]))
                out = {"ok": sim.now()}
            elif "state" in msg:
                out = {"ok": sim.physical_state()}
            else:
                raise ValueError(f"unknown control message {line.strip()!r}; allowed keys: 'fault', 'now', "
                                 "'advance', 'state'")
        except Exception as exc:  # every error goes back to the parent, which raises it
            out = {"error": f"{type(exc).__name__}: {exc}"}
        replies.write(json.dumps(out) + "\n")
        replies.flush()


class SimProcess:
    """The simulated bench served by a child process (``labctl sim serve --control``): its servers spin
    (``spin`` s) without taking the GIL from this process. ``resources`` as in :class:`Simulation`;
    ``set_fault`` and ``now`` talk to the child over its stdin/stdout; ``stop`` (or losing this process, which
    closes the child's stdin) ends the child."""

    def __init__(self, config: BenchConfig, *, spin: float = PROCESS_SPIN, start_timeout: float = 30.0) -> None:
        self.config = config
        self._lock = threading.Lock()
        fd, path = tempfile.mkstemp(prefix="labctl-sim-", suffix=".yaml")
        with os.fdopen(fd, "w") as f:
            json.dump(config.model_dump(mode="json"), f)  # JSON is YAML
        cmd = [sys.executable, "-m", "labctl", "sim", "serve", "--config", path, "--spin", repr(spin), "--control"]
        self._stderr = tempfile.TemporaryFile("w+")  # noqa: SIM115 - lives as long as the child
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                                     text=True, bufsize=1)
        self.resources: dict[str, str] = {}
        try:
            self._read_resources(start_timeout)
        except BaseException:
            self.stop()
            raise
        finally:
            os.unlink(path)

    def _read_resources(self, timeout: float) -> None:
        assert self.proc.stdout is not None
        done = threading.Event()

        def give_up() -> None:
            if not done.is_set():
                self.proc.kill()

        timer = threading.Timer(timeout, give_up)
        timer.start()
        try:
            for line in self.proc.stdout:
                if line.strip() == "ready":
                    done.set()
                    return
                name, _driver, resource = line.rstrip("\n").split("\t")
                self.resources[name] = resource
        finally:
            timer.cancel()
        self.proc.wait()
        self._stderr.seek(0)
        err = self._stderr.read()
        raise RuntimeError(f"labctl sim serve exited before it was ready (code {self.proc.returncode}): {err.strip()}")

    def _call(self, msg: dict[str, Any]) -> Any:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"the simulated bench process has exited (code {self.proc.returncode})")
        with self._lock:  # one request and its reply at a time, whichever thread asks
            self.proc.stdin.write(json.dumps(msg) + "\n")
            self.proc.stdin.flush()
            reply = json.loads(self.proc.stdout.readline() or '{"error": "no reply: the process has exited"}')
        if "error" in reply:
            raise RuntimeError(f"simulated bench process: {reply['error']}")
        return reply["ok"]

    def served_config(self) -> BenchConfig:
        """The bench config with the simulated instruments' resources pointing at this process's servers and no
        ``sim`` section: what a controller in another process (or this one) opens as a real bench."""
        data = self.config.model_dump(mode="json")
        for name, resource in self.resources.items():
            data["instruments"][name]["resource"] = resource
        data["sim"] = None
        return BenchConfig.model_validate(data)

    def set_fault(self, instrument: str, **fault: Any) -> None:
        """Change the faults of one simulated instrument at run time (``FaultConfig`` fields)."""
        FaultConfig(**fault)  # validate here, with the caller's stack
        self._call({"fault": instrument, **fault})

    def now(self) -> float:
        """The simulated bench's virtual time, s."""
        return float(self._call({"now": True}))

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of virtual time pass with every source off (the physics idles)."""
        self._call({"advance": float(seconds)})

    def physical_state(self) -> dict[str, Any]:
        """The simulated instruments' own state (not the drivers' belief): sources on, relays closed."""
        state: dict[str, Any] = self._call({"state": True})
        return state

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        """End the child (closing its stdin asks it to stop; it is killed if it has not within 5 s)."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            with contextlib.suppress(OSError):  # the child is gone already
                self.proc.stdin.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()

    def __enter__(self) -> SimProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
