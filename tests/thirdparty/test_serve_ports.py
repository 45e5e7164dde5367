"""``labctl sim serve --port BASE``: fixed consecutive ports in the bench YAML's order; each simulated instrument
has its own serial number, the same on every start."""

from __future__ import annotations

import pyvisa

from labctl.bench import DEFAULT_CONFIG, start_simulation
from labctl.core.config import load_bench_config


def test_served_ports_follow_the_yaml_order_and_serials_differ(served: dict[str, str]) -> None:
    names = list(load_bench_config(DEFAULT_CONFIG).instruments)
    ports = [int(served[n].split("::")[2]) for n in names]
    assert ports == list(range(ports[0], ports[0] + len(names)))
    rm = pyvisa.ResourceManager("@py")
    idns = {}
    for n in names:
        inst = rm.open_resource(served[n], read_termination="\n", write_termination="\n")
        inst.timeout = 10000
        idns[n] = inst.query("*IDN?")  # type: ignore[attr-defined]
        inst.close()
    serials = [idn.split(",")[2] for idn in idns.values()]
    assert len(set(serials)) == len(serials), idns
    again = start_simulation(load_bench_config(DEFAULT_CONFIG), transport="inproc")
    assert {n: d.idn for n, d in again.devices.items()} == idns  # deterministic per instrument name
