"""Forward+backward time of a hardware-aware 512x512 layer at batch 64 vs plain torch.nn.Linear, same run.

The hardware-aware layer is one HRAT layer (seed 003, :class:`labctl.train.hrat.HRATLinear` in training mode):
input clamp, BN fusing, learned-step 8-bit weight quantization (STE), Gaussian weight noise (default ``weight``:
the seed's draw per step shared by the batch, :mod:`labctl.train.weight_noise`; also timed: ``output``, per-sample
output-referred noise, :func:`labctl.train.layers.output_noise`, not the seed's model), 10-bit DAC bias
quantization noise, output clamps, learned scale and ReLU. The baseline is ``torch.nn.Linear`` (with bias) on the
same input, same threads. Each step is ``zero_grad`` (untimed), then ``layer(x).sum().backward()`` timed; layers
are interleaved (a, b, a, b, ...) so load from other processes hits both alike; medians after warmup, ratio =
median(HRAT) / median(Linear), for wall-clock time and for process CPU time (``time.process_time``: not inflated
when other processes preempt this one, but with 2 threads it includes the workers' spin-waiting; on a loaded
machine 2 threads mostly measure that). Case "input gradient": the same two layers on an input that needs its
gradient (a hidden layer; for the HRAT layer this adds the weight noise's ``g N`` term), timed in a process of its
own (its QR keeps the OpenMP pool spinning into the steps around it). Each thread count runs in fresh processes
that set it once before any work, as a training run does: switching one process from 1 thread to 2 leaves torch's
OpenMP pool in a state where the workers' spinning slows everything else (measured: CPU time above twice the wall
time, every case slower, the elementwise-heavy layer most). On the 2-vCPU development machine the 2-thread figures
swing between runs by up to 1.5x, so the table gives the median over ``--runs`` runs and the range.

Usage: ``.venv/bin/python benchmarks/bench_train.py [--threads 1,2] [--runs 5] [--device cpu|cuda] [--write-readme]``
(``--write-readme`` saves ``benchmarks/results/train_bench.json`` and rewrites the README block ``train_bench``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import save

from labctl.train.hrat import NOISE_MODES, HRATLinear


def _step(layer: torch.nn.Module, x: torch.Tensor, device: str) -> tuple[float, float]:
    """(wall, process CPU) seconds of one forward+backward."""
    layer.zero_grad(set_to_none=True)
    x.grad = None
    if device == "cuda":
        torch.cuda.synchronize()
    t, c = time.perf_counter(), time.process_time()
    layer(x).sum().backward()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t, time.process_time() - c


def bench(cases: list[tuple[torch.nn.Module, torch.Tensor]], reps: int, warmup: int,
          device: str) -> list[tuple[float, float]]:
    """Interleaved timing of all (layer, input) cases; (wall, CPU) medians in ms."""
    times: list[list[tuple[float, float]]] = [[] for _ in cases]
    for i in range(reps + warmup):
        for k, (layer, x) in enumerate(cases):
            dt = _step(layer, x, device)
            if i >= warmup:
                times[k].append(dt)
    return [(statistics.median(w for w, _ in t) * 1e3, statistics.median(c for _, c in t) * 1e3) for t in times]


def hrat_layer(n: int, noise_mode: str, device: str) -> HRATLinear:
    return HRATLinear(n, n, bits=8, noise=0.02, v_th=0.2, vdd=3.0, dac_bits=10, bn=True, last=False, hw=True,
                      noise_mode=noise_mode).to(device).train()


CASES = ("linear", "hrat", "hrat_output", "linear_dx", "hrat_dx")
# interleaved within a group, one process per group: the input-gradient case's QR (MKL, OpenMP) leaves the pool's
# threads spinning into the next steps, which would tax the first-layer cases timed between them
GROUPS = (("linear", "hrat", "hrat_output"), ("linear_dx", "hrat_dx"))


def ratios(runs: list[dict[str, Any]], k: str, base: str, i: int) -> list[float]:
    """Per run, case ``k`` over its baseline (``i``: 0 wall, 1 CPU)."""
    return [r[k][i] / r[base][i] for r in runs]


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One thread count over its runs: medians of the times and of the ratios, and the ratios' range."""
    out: dict[str, Any] = {"threads": runs[0]["threads"], "runs": runs}
    for k in CASES:
        out[k] = [statistics.median(r[k][i] for r in runs) for i in (0, 1)]
    for k in CASES[1:]:
        base = "linear_dx" if k.endswith("_dx") else "linear"
        wall, cpu = ratios(runs, k, base, 0), ratios(runs, k, base, 1)
        out[f"{k}_ratio"] = {"wall": statistics.median(wall), "cpu": statistics.median(cpu),
                             "wall_min": min(wall), "wall_max": max(wall)}
    return out


def markdown(rows: list[dict[str, Any]], a: argparse.Namespace) -> str:
    def r(row: dict[str, Any], k: str) -> str:
        q = row[f"{k}_ratio"]
        spread = f" ({q['wall_min']:.2f}-{q['wall_max']:.2f})" if a.runs > 1 else ""
        return f"{q['wall']:.2f}x{spread} / {q['cpu']:.2f}x"

    lines = ["| threads | `nn.Linear` fwd+bwd (wall / CPU) | **HRAT layer, all features** (default noise) | "
             "HRAT, output-referred noise (not the seed's) | hidden layer (input gradient): HRAT vs `nn.Linear` |",
             "|---|---|---|---|---|"]
    for row in rows:
        lin = row["linear"]
        lines.append(f"| {row['threads']} | {lin[0]:.3f} / {lin[1]:.3f} ms | **{r(row, 'hrat')}** | "
                     f"{r(row, 'hrat_output')} | {r(row, 'hrat_dx')} |")
    lines += ["", f"Ratios are wall (range over the runs) / CPU time: in each of {a.runs} runs (fresh processes) the "
              f"median of {a.reps} interleaved steps after {a.warmup} warmup, then the median over the runs; "
              f"{a.n}x{a.n}, batch {a.batch}, device {a.device}, torch {torch.__version__}; goal <= 3x. Features: "
              "input clamp, BN fusing, 8-bit learned-step quantization, Gaussian weight noise (2 %, one draw per "
              "step shared by the batch), 10-bit DAC bias, output clamps, learned scale, ReLU."]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--threads", default="1,2", help="comma-separated torch.set_num_threads values")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--reps", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--runs", type=int, default=5, help="independent runs per thread count (fresh processes)")
    ap.add_argument("--write-readme", action="store_true", help="save results and rewrite the README block")
    ap.add_argument("--child", action="store_true", help="internal: measure one thread count, print JSON")
    ap.add_argument("--cases", default=",".join(CASES), help="internal: the cases a child measures")
    a = ap.parse_args()
    assert NOISE_MODES == ("weight", "output")
    if a.child:
        torch.set_num_threads(int(a.threads))  # first, before any work starts torch's thread pool
        torch.manual_seed(0)
        x = torch.rand(a.batch, a.n, device=a.device) * 0.2
        xg = x.clone().requires_grad_()
        layers = {"linear": torch.nn.Linear(a.n, a.n).to(a.device).train(),
                  "hrat": hrat_layer(a.n, "weight", a.device), "hrat_output": hrat_layer(a.n, "output", a.device)}
        inputs = {"linear": (layers["linear"], x), "hrat": (layers["hrat"], x),
                  "hrat_output": (layers["hrat_output"], x), "linear_dx": (layers["linear"], xg),
                  "hrat_dx": (layers["hrat"], xg)}
        names = a.cases.split(",")
        t = dict(zip(names, bench([inputs[k] for k in names], a.reps, a.warmup, a.device), strict=True))
        print(json.dumps({"threads": int(a.threads), **t}))
        return
    load0 = os.getloadavg()[0]
    print(f"torch {torch.__version__}, device {a.device}, {a.n}x{a.n}, batch {a.batch}, fwd+bwd, "
          f"median of {a.reps} after {a.warmup} warmup, one process per thread count, load average {load0:.2f}")
    counts = [int(v) for v in a.threads.split(",")]
    runs: dict[int, list[dict[str, Any]]] = {n: [] for n in counts}
    for run in range(a.runs):  # runs outermost: each thread count samples the same stretches of machine time
        for threads in counts:
            t: dict[str, Any] = {"threads": threads}
            for group in GROUPS:
                cmd = [sys.executable, __file__, "--child", "--threads", str(threads), "--cases", ",".join(group),
                       "--device", a.device, "--n", str(a.n), "--batch", str(a.batch), "--reps", str(a.reps),
                       "--warmup", str(a.warmup)]
                out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()
                t.update(json.loads(out[-1]))
            runs[threads].append(t)
            print(f"run {run + 1}/{a.runs}, threads {threads}: " + ", ".join(
                f"{k} {t[k][0] / t['linear_dx' if k.endswith('_dx') else 'linear'][0]:.2f}x" for k in CASES[1:]
                if not k.startswith("linear")), flush=True)
    rows = [summary(runs[n]) for n in counts]
    load1 = os.getloadavg()[0]
    print(f"load average after: {load1:.2f}")
    md = markdown(rows, a)
    print(md)
    save("train_bench", {"rows": rows, "load_before_after": [load0, load1], "args": vars(a)}, md,
         write_readme=a.write_readme)


if __name__ == "__main__":
    main()
