"""Write a pulse-response CSV (``device,pulse,polarity,conductance,volts``) for device-LUT training (seed 004).

``--source bench`` (default): the ``pulse_train`` protocol on the simulated bench (``configs/sim_bench.yaml``:
STANFORD_V1 physics with its d2d spread, switching c2c noise and read noise) through the full stack -- drivers
over loopback VISA, the switch matrix, the journal in ``--store`` -- on ``--devices`` cells spread over xbar0.
Per cell and cycle: ``--set-pulses`` SET pulses stepping 1.3, 1.4, 1.5, 1.6 V, then a RESET ramp from 1.00 V in
10 mV steps (``--reset-pulses``), 50 us pulses, a 0.1 V read after each (the protocol's defaults).
This regenerates the committed default ``labctl/train/data/pulse_responses_bench.csv``:

    .venv/bin/python benchmarks/pulse_csv.py labctl/train/data/pulse_responses_bench.csv

``--source synthetic``: the older soft-bounds stand-in (not physics; 20 % cycle-to-cycle noise).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import tempfile
from pathlib import Path

import numpy as np


def bench_cells(n: int, rows: int = 64, cols: int = 64) -> list[tuple[int, int]]:
    """``n`` distinct cells spread over the array (a diagonal stride, different rows and columns)."""
    step = max(1, min(rows, cols) // n)
    return [((k * step) % rows, (k * step * 3 + 1) % cols) for k in range(n)]


def generate_bench(path: str, devices: int = 16, cycles: int = 6, set_pulses: int = 4, reset_pulses: int = 60,
                   config: str | None = None, store: str | None = None, transport: str = "visa") -> str:
    """Run ``pulse_train`` on the simulated bench and write its CSV; returns the run id."""
    from labctl.bench import DEFAULT_CONFIG
    from labctl.jobs.protocol_run import run_protocol
    from labctl.store import RunStore

    params = {"cells": bench_cells(devices), "cycles": cycles, "set_pulses": set_pulses,
              "reset_pulses": reset_pulses}
    root = store or tempfile.mkdtemp(prefix="pulse_train_")

    async def go() -> str:
        from labctl.bench import open_bench

        async with open_bench(config or DEFAULT_CONFIG, transport=transport) as b:
            res = await run_protocol(None, "pulse_train", params, store_root=root, bench=b)
        assert res.run_id is not None
        return res.run_id

    run_id = asyncio.run(go())
    data = dict(RunStore(root).results(run_id))["pulse_train"]
    write_csv(path, data, run_id)
    return run_id


def write_csv(path: str | Path, data: dict[str, object], source: str = "") -> None:
    """The ``pulse_train`` result as one row per pulse, cells named ``r<row>c<col>``."""
    rows, cols = np.asarray(data["rows"]), np.asarray(data["cols"])
    volts, g = np.asarray(data["volts"], dtype=float), np.asarray(data["conductance"], dtype=float)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["device", "pulse", "polarity", "conductance", "volts"])
        for i in range(len(rows)):
            k = 0
            for cyc in range(g.shape[1]):
                for j, v in enumerate(volts):
                    w.writerow([f"r{rows[i]}c{cols[i]}", k, "set" if v > 0 else "reset", f"{g[i, cyc, j]:.6e}",
                                f"{v:.3f}"])
                    k += 1


def generate(path: str, devices: int = 8, pulses: int = 600, train: int = 50, seed: int = 0,
             g_min: float = 5e-6, g_max: float = 100e-6) -> None:
    """Synthetic soft-bounds device (not physics): step ``alpha (1-x)^1.5`` up, ``alpha x^1.5`` down."""
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["device", "pulse", "polarity", "conductance"])
        for d in range(devices):
            alpha = 0.04 * np.exp(0.3 * rng.standard_normal())
            g = g_min + (g_max - g_min) * rng.uniform(0.2, 0.8)
            for k in range(pulses):
                up = (k // train) % 2 == 0
                x = (g - g_min) / (g_max - g_min)
                step = alpha * (g_max - g_min) * ((1 - x) ** 1.5 if up else x**1.5)
                dg = step * (1 + 0.2 * rng.standard_normal())
                g = float(np.clip(g + (dg if up else -dg), g_min, g_max))
                w.writerow([f"dev{d}", k, "set" if up else "reset", f"{g:.6e}"])


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--source", choices=("bench", "synthetic"), default="bench")
    ap.add_argument("--devices", type=int, default=16)
    ap.add_argument("--cycles", type=int, default=6, help="bench: trains per cell")
    ap.add_argument("--set-pulses", type=int, default=4, help="bench: SET pulses per potentiation train")
    ap.add_argument("--reset-pulses", type=int, default=60, help="bench: RESET pulses per depression ramp")
    ap.add_argument("--bench", default=None, help="bench YAML (default: the embedded simulated bench)")
    ap.add_argument("--store", default=None, help="run store for the journal (default: a temporary folder)")
    ap.add_argument("--pulses", type=int, default=600, help="synthetic: pulses per device")
    ap.add_argument("--seed", type=int, default=0, help="synthetic: seed")
    a = ap.parse_args()
    if a.source == "bench":
        rid = generate_bench(a.out, a.devices, a.cycles, a.set_pulses, a.reset_pulses, a.bench, a.store)
        print(f"{a.out}: pulse_train run {rid}")
    else:
        generate(a.out, a.devices, a.pulses, seed=a.seed)
