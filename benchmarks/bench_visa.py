"""Query round trips per second: pyvisa-py -> loopback TCP -> labctl simulator (served by a child process, as
``labctl sim serve`` does), next to the same query through pyvisa-sim's in-process backend in the same run
(ratio; goal >= 1: the TCP path is not slower). Also the floor of the TCP path: a raw Python socket doing the same
round trip against the same server, and pyvisa-py against a server in this process (no spin, shares the GIL).

Then pulse+verify cycles per second through the whole stack (CrossbarAccess -> drivers -> pyvisa-py -> TCP ->
simulators -> physics) with the servers in a child process and in this process, next to the in-process transport,
with the simulated bench time per cycle.

    .venv/bin/python benchmarks/bench_visa.py [--n 3000] [--cycles 300] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pyvisa

import instruments
from labctl.bench import DEFAULT_CONFIG, SimProcess, open_bench, start_simulation
from labctl.core.config import BenchConfig, load_bench_config

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import save


def rate(query: Callable[[], object], n: int) -> float:
    for _ in range(50):
        query()
    t = time.perf_counter()
    for _ in range(n):
        query()
    return n / (time.perf_counter() - t)


def visa(rm: pyvisa.ResourceManager, resource: str) -> pyvisa.resources.MessageBasedResource:
    res = rm.open_resource(resource, read_termination="\n", write_termination="\n")
    assert isinstance(res, pyvisa.resources.MessageBasedResource)
    return res


def raw_query(resource: str, message: bytes) -> Callable[[], bytes]:
    """A plain-socket query of a ``TCPIP::host::port::SOCKET`` resource (reply: one line in one segment)."""
    _, host, port, _ = resource.split("::")
    sock = socket.create_connection((host, int(port)))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def query() -> bytes:
        sock.sendall(message)
        reply = sock.recv(4096)
        while not reply.endswith(b"\n"):
            reply += sock.recv(4096)
        return reply

    return query


async def cycles(config: BenchConfig, transport: str, n: int, now: Callable[[], float] | None = None
                 ) -> tuple[float, float]:
    async with open_bench(config, transport=transport) as bench:
        clock = now or bench.estimated_bench_seconds
        xbar = bench.crossbars["xbar0"]
        t0, b0 = time.perf_counter(), clock()
        for k in range(n):
            cell = (k // 10) % 64, (k // 10) % 61
            await xbar.pulse(cell[0], [cell[1]], 0.6, 1e-4)
            await xbar.read(cell[0], [cell[1]], 0.1)
        wall = time.perf_counter() - t0
        return n / wall, (clock() - b0) / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--cycles", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=3, help="rounds of the query figures (median reported)")
    ap.add_argument("--write-readme", action="store_true", help="rewrite the README's figures:visa block")
    args = ap.parse_args()
    table = ["| query | pyvisa-py -> TCP -> simulator process | pyvisa-sim in-process | ratio (rounds) |",
             "|---|---|---|---|"]
    cfg = load_bench_config(DEFAULT_CONFIG)
    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    yaml = Path(instruments.__file__).parent / "sim" / "keithley_2450.yaml"
    simres = visa(pyvisa.ResourceManager(f"{yaml}@sim"), "GPIB0::18::INSTR")
    rm = pyvisa.ResourceManager("@py")
    with SimProcess(cfg) as proc:
        inproc = start_simulation(cfg)
        try:
            tcp = visa(rm, proc.resources["smu0_aux"])
            tcp_inproc = visa(rm, inproc.resources["smu0_aux"])
            for tcp_q, sim_q in (("*IDN?", "*IDN?"), (":SOUR:VOLT:ILIM?", ":SOUR:VOLT:ILIM?")):
                raw = raw_query(proc.resources["smu0_aux"], tcp_q.encode() + b"\n")
                paths = (partial(tcp.query, tcp_q), partial(simres.query, sim_q), raw, partial(tcp_inproc.query, tcp_q))
                rows = [tuple(rate(q, args.n) for q in paths) for _ in range(args.repeat)]  # interleaved rounds
                ratios = [r[0] / r[1] for r in rows]
                med = [statistics.median(col) for col in zip(*rows, strict=True)]
                print(f"{tcp_q:17s} round trips/s (median of {args.repeat}): pyvisa-py TCP -> simulator process "
                      f"{med[0]:,.0f}   pyvisa-sim in-process {med[1]:,.0f}   ratio TCP/pyvisa-sim = "
                      f"{statistics.median(ratios):.2f} (rounds: {', '.join(f'{r:.2f}' for r in ratios)})")
                print(f"{'':17s} floor: raw socket -> simulator process {med[2]:,.0f}; pyvisa-py TCP -> simulator "
                      f"in this process {med[3]:,.0f} (ratio {med[3] / med[1]:.2f})")
                table.append(f"| `{tcp_q}` | {med[0]:,.0f} /s | {med[1]:,.0f} /s | **{statistics.median(ratios):.2f}** "
                             f"({min(ratios):.2f}-{max(ratios):.2f}) |")
        finally:
            inproc.stop()
        c_proc, bench_proc = asyncio.run(cycles(proc.served_config(), "visa", args.cycles, proc.now))
    c_visa, bench_s = asyncio.run(cycles(cfg, "visa", args.cycles))
    c_inproc, _ = asyncio.run(cycles(cfg, "inproc", args.cycles))
    print(f"pulse+verify cycles/s on a 64x64 crossbar: pyvisa-py/TCP, simulator process {c_proc:,.0f}   "
          f"pyvisa-py/TCP, simulator in this process {c_visa:,.0f}   in-process transport {c_inproc:,.0f}   "
          f"ratio process/in-process = {c_proc / c_inproc:.2f}; simulated bench time {bench_s * 1e3:.2f} ms per "
          f"cycle ({bench_proc * 1e3:.2f} ms in the process)")
    print(f"=> 40960 pulse+verify cycles (64x64 x 10): {40960 / c_proc:.0f} s wall through TCP, "
          f"{40960 * bench_s:.0f} s on the modelled bench")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    table += ["", f"Pulse + verify cycles on a 64x64 crossbar of the default bench through the whole stack: "
              f"{c_proc:,.0f} /s with the simulator in its own process, {c_visa:,.0f} /s in this process, "
              f"{c_inproc:,.0f} /s with the in-process transport ({bench_s * 1e3:.2f} ms of modelled bench time each)."]
    save("visa", {"pulse_verify_per_s": {"process": c_proc, "this_process": c_visa, "inproc": c_inproc},
                  "bench_s_per_cycle": bench_s}, "\n".join(table), write_readme=args.write_readme)


if __name__ == "__main__":
    main()
