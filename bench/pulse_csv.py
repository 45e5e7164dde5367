"""Write a synthetic pulse-response CSV (``device,pulse,polarity,conductance``) for device-LUT training.

A stand-in until the simulated bench records pulse trains: a soft-bounds device (step up shrinks toward G_max,
step down toward G_min, nonlinearity ``nu``) with 20 % cycle-to-cycle noise and device-to-device spread of the
step size. Alternating trains of ``train`` SET then ``train`` RESET pulses. Usage:

    .venv/bin/python bench/pulse_csv.py OUT.csv [--devices 8] [--pulses 600]
"""

from __future__ import annotations

import argparse
import csv

import numpy as np


def generate(path: str, devices: int = 8, pulses: int = 600, train: int = 50, seed: int = 0,
             g_min: float = 5e-6, g_max: float = 100e-6) -> None:
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
    ap.add_argument("--devices", type=int, default=8)
    ap.add_argument("--pulses", type=int, default=600)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    generate(a.out, a.devices, a.pulses, seed=a.seed)
