"""Forward+backward time of a hardware-aware 512x512 layer at batch 64 vs plain torch.nn.Linear, same run.

The hardware-aware layer is one HRAT layer (seed 003): input clamp, learned-step weight quantization (STE),
Gaussian weight noise, BN fusing, DAC bias quantization noise, output clamps and learned scale. Prints medians
(interleaved runs) and the ratio. Usage: ``.venv/bin/python bench/bench_train.py [--threads 2] [--device cpu|cuda]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from labctl.train.hrat import HRATLinear


def _step(layer: torch.nn.Module, x: torch.Tensor, device: str) -> float:
    if device == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    layer(x).sum().backward()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t


def bench(a: torch.nn.Module, b: torch.nn.Module, x: torch.Tensor, reps: int, device: str) -> tuple[float, float]:
    """Interleaved timing (a, b, a, b, ...) so load from other processes hits both alike; medians in ms."""
    ta, tb = [], []
    for i in range(reps + 10):
        da, db = _step(a, x, device), _step(b, x, device)
        if i >= 10:
            ta.append(da)
            tb.append(db)
    return statistics.median(ta) * 1e3, statistics.median(tb) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--reps", type=int, default=200)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    x = torch.rand(a.batch, a.n, device=a.device) * 0.2
    plain = torch.nn.Linear(a.n, a.n).to(a.device).train()
    hw = HRATLinear(a.n, a.n, bits=8, noise=0.02, v_th=0.2, vdd=3.0, dac_bits=10, bn=True, last=False,
                    hw=True).to(a.device).train()
    t_plain, t_hw = bench(plain, hw, x, a.reps, a.device)
    print(f"device {a.device}, threads {a.threads}, {a.n}x{a.n}, batch {a.batch}, fwd+bwd median of {a.reps}")
    print(f"torch.nn.Linear            {t_plain:8.3f} ms")
    print(f"HRAT hardware-aware layer  {t_hw:8.3f} ms")
    print(f"ratio                      {t_hw / t_plain:8.2f} x   (goal <= 3x; aihwkit HWA preset ~40x fwd+bwd)")


if __name__ == "__main__":
    main()
