"""Forward+backward time of a hardware-aware 512x512 layer at batch 64 vs plain torch.nn.Linear, same run.

The hardware-aware layer is one HRAT layer (seed 003, :class:`labctl.train.hrat.HRATLinear` in training mode):
input clamp, BN fusing, learned-step 8-bit weight quantization (STE), Gaussian weight noise (``--noise-mode``:
``weight`` draws an ``out x in`` matrix per step, ``output`` the equivalent ``batch x out`` output-referred
noise, see :func:`labctl.train.layers.output_noise`), 10-bit DAC bias quantization noise, output clamps, learned
scale and ReLU. The baseline is ``torch.nn.Linear`` (with bias) on the same input, same threads. Each step is
``zero_grad`` (untimed), then ``layer(x).sum().backward()`` timed; layers are interleaved (a, b, a, b, ...) so
load from other processes hits both alike; medians after warmup, ratio = median(HRAT) / median(Linear), for
wall-clock time and for process CPU time (``time.process_time``: not inflated when other processes preempt
this one, but with 2 threads it includes the workers' spin-waiting).

Usage: ``.venv/bin/python benchmarks/bench_train.py [--threads 1,2] [--device cpu|cuda] [--noise-mode both]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from labctl.train.hrat import NOISE_MODES, HRATLinear


def _step(layer: torch.nn.Module, x: torch.Tensor, device: str) -> tuple[float, float]:
    """(wall, process CPU) seconds of one forward+backward."""
    layer.zero_grad(set_to_none=True)
    if device == "cuda":
        torch.cuda.synchronize()
    t, c = time.perf_counter(), time.process_time()
    layer(x).sum().backward()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t, time.process_time() - c


def bench(layers: list[torch.nn.Module], x: torch.Tensor, reps: int, warmup: int,
          device: str) -> list[tuple[float, float]]:
    """Interleaved timing of all layers; (wall, CPU) medians in ms."""
    times: list[list[tuple[float, float]]] = [[] for _ in layers]
    for i in range(reps + warmup):
        for k, layer in enumerate(layers):
            dt = _step(layer, x, device)
            if i >= warmup:
                times[k].append(dt)
    return [(statistics.median(w for w, _ in t) * 1e3, statistics.median(c for _, c in t) * 1e3) for t in times]


def hrat_layer(n: int, noise_mode: str, device: str) -> HRATLinear:
    return HRATLinear(n, n, bits=8, noise=0.02, v_th=0.2, vdd=3.0, dac_bits=10, bn=True, last=False, hw=True,
                      noise_mode=noise_mode).to(device).train()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2", help="comma-separated torch.set_num_threads values")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--reps", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--noise-mode", default="both", choices=[*NOISE_MODES, "both"])
    a = ap.parse_args()
    modes = list(NOISE_MODES) if a.noise_mode == "both" else [a.noise_mode]
    torch.manual_seed(0)
    x = torch.rand(a.batch, a.n, device=a.device) * 0.2
    plain = torch.nn.Linear(a.n, a.n).to(a.device).train()
    hws = [hrat_layer(a.n, m, a.device) for m in modes]
    print(f"torch {torch.__version__}, device {a.device}, {a.n}x{a.n}, batch {a.batch}, fwd+bwd, "
          f"median of {a.reps} after {a.warmup} warmup, load average {os.getloadavg()[0]:.2f}")
    print("HRAT features on: input clamp +-0.2 V, BN fusing (moving averages), 8-bit learned-step quantization "
          "(STE), Gaussian weight noise 2 % of 2 max|Wq|, 10-bit DAC bias noise, output clamps +-VDD/2, "
          "learned scale, ReLU")
    for threads in (int(v) for v in a.threads.split(",")):
        torch.set_num_threads(threads)
        (w0, c0), *t_hw = bench([plain, *hws], x, a.reps, a.warmup, a.device)
        print(f"threads {threads}: torch.nn.Linear        wall {w0:7.3f} ms            cpu {c0:7.3f} ms")
        for mode, (w, c) in zip(modes, t_hw, strict=True):
            print(f"threads {threads}: HRAT noise_mode={mode:6s} wall {w:7.3f} ms ({w / w0:5.2f}x)  "
                  f"cpu {c:7.3f} ms ({c / c0:5.2f}x)   goal <= 3x; aihwkit HWA preset: 40x here, 50-100x at 1024")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
