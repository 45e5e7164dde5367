"""Query round trips per second: pyvisa-py -> loopback TCP -> labctl simulator, next to the same query through
pyvisa-sim's in-process backend in the same run (ratio; goal >= 1: the TCP path is not slower).

Also: pulse+verify cycles per second through the whole stack (CrossbarAccess -> drivers -> pyvisa-py -> TCP ->
simulators -> physics) next to the in-process transport, with the simulated bench time per cycle.

    .venv/bin/python bench/bench_visa.py [--n 3000] [--cycles 300]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import pyvisa

import instruments
from labctl.bench import DEFAULT_CONFIG, open_bench, start_simulation
from labctl.core.config import load_bench_config


def rate(res: pyvisa.resources.MessageBasedResource, query: str, n: int) -> float:
    for _ in range(50):
        res.query(query)
    t = time.perf_counter()
    for _ in range(n):
        res.query(query)
    return n / (time.perf_counter() - t)


async def cycles(transport: str, n: int) -> tuple[float, float]:
    async with open_bench(DEFAULT_CONFIG, transport=transport) as bench:
        xbar = bench.crossbars["xbar0"]
        t0, b0 = time.perf_counter(), bench.estimated_bench_seconds()
        for k in range(n):
            cell = (k // 10) % 64, (k // 10) % 61
            await xbar.pulse(cell[0], [cell[1]], 0.6, 1e-4)
            await xbar.read(cell[0], [cell[1]], 0.1)
        wall = time.perf_counter() - t0
        return n / wall, (bench.estimated_bench_seconds() - b0) / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--cycles", type=int, default=300)
    args = ap.parse_args()
    sim = start_simulation(load_bench_config(DEFAULT_CONFIG))
    try:
        tcp = pyvisa.ResourceManager("@py").open_resource(sim.resources["smu0_aux"], read_termination="\n",
                                                          write_termination="\n")
        yaml = Path(instruments.__file__).parent / "sim" / "keithley_2450.yaml"
        simres = pyvisa.ResourceManager(f"{yaml}@sim").open_resource("GPIB0::18::INSTR", read_termination="\n",
                                                                    write_termination="\n")
        r_tcp = rate(tcp, "*IDN?", args.n)
        r_sim = rate(simres, "*IDN?", args.n)
        print(f"*IDN? round trips/s: pyvisa-py TCP simulator {r_tcp:,.0f}   pyvisa-sim in-process {r_sim:,.0f}   "
              f"ratio TCP/pyvisa-sim = {r_tcp / r_sim:.2f}")
        r_tcp = rate(tcp, ":SOUR:VOLT?", args.n)
        r_sim = rate(simres, ":SOUR:VOLT:ILIM?", args.n)
        print(f"settings query round trips/s: TCP {r_tcp:,.0f}   pyvisa-sim {r_sim:,.0f}   ratio = {r_tcp / r_sim:.2f}")
    finally:
        sim.stop()
    c_visa, bench_s = asyncio.run(cycles("visa", args.cycles))
    c_inproc, _ = asyncio.run(cycles("inproc", args.cycles))
    print(f"pulse+verify cycles/s on a 64x64 crossbar: pyvisa-py/TCP {c_visa:,.0f}   in-process {c_inproc:,.0f}   "
          f"ratio = {c_visa / c_inproc:.2f}; simulated bench time {bench_s * 1e3:.2f} ms per cycle")
    print(f"=> 40960 pulse+verify cycles (64x64 x 10): {40960 / c_visa:.0f} s wall through TCP, "
          f"{40960 * bench_s:.0f} s on the modelled bench")


if __name__ == "__main__":
    main()
