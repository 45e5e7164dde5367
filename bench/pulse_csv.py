"""Write a pulse-response CSV (``device,pulse,polarity,conductance``) for device-LUT training (seed 004).

``--source rram`` (default): pulse cells of ``sim_instruments.RRAMArray`` (Stanford/PKU v1.0.0 model,
``STANFORD_V1``) with device-to-device spread on (``--d2d``, log-normal on I0, g0, gamma0), 10 ns pulses:
SET +1.4 V until the 0.1 V chord conductance exceeds ``--g-high``, then RESET -1.2 V until it drops below
``--g-low``, and so on (a window-cycling protocol); the conductance is read after every pulse.
``--source synthetic``: the older soft-bounds stand-in (20 % cycle-to-cycle noise). Usage:

    .venv/bin/python bench/pulse_csv.py OUT.csv [--source rram] [--devices 8] [--pulses 600]
"""

from __future__ import annotations

import argparse
import csv

import numpy as np


def generate_rram(path: str, devices: int = 8, pulses: int = 600, seed: int = 0, d2d: float = 0.1,
                  g_low: float = 8e-6, g_high: float = 100e-6, v_set: float = 1.4, v_reset: float = -1.2,
                  width: float = 10e-9) -> None:
    from sim_instruments import RRAMArray
    from sim_instruments.physics.nonideal import NonIdealities
    from sim_instruments.presets import STANFORD_V1

    arr = RRAMArray(devices, STANFORD_V1, seed=seed, nonideal=NonIdealities(d2d=d2d))
    arr.gap = STANFORD_V1.gap_max
    up = np.ones(devices, dtype=bool)
    rows = np.empty((pulses, devices))
    pol = np.empty((pulses, devices), dtype=bool)
    for k in range(pulses):
        arr.apply(np.where(up, v_set, v_reset), width)
        g = np.asarray(arr.conductance(0.1), dtype=np.float64).reshape(-1)
        rows[k], pol[k] = g, up
        up = np.where(up & (g > g_high), False, np.where(~up & (g < g_low), True, up))
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["device", "pulse", "polarity", "conductance"])
        for d in range(devices):
            for k in range(pulses):
                w.writerow([f"cell{d}", k, "set" if pol[k, d] else "reset", f"{rows[k, d]:.6e}"])


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
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out")
    ap.add_argument("--source", choices=("rram", "synthetic"), default="rram")
    ap.add_argument("--devices", type=int, default=8)
    ap.add_argument("--pulses", type=int, default=600)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--d2d", type=float, default=0.1)
    a = ap.parse_args()
    if a.source == "rram":
        generate_rram(a.out, a.devices, a.pulses, seed=a.seed, d2d=a.d2d)
    else:
        generate(a.out, a.devices, a.pulses, seed=a.seed)
