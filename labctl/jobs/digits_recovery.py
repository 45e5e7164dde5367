"""Chip-in-the-loop recovery of a digits MLP on the simulated bench with stuck cells (issue 5).

:func:`run_digits_recovery` reads top to bottom::

    train a digits differential-pair MLP (labctl.train)       -> per-layer target maps (S) in the window
    open the bench (default: configs/sim_bench.yaml with 5 % stuck-ON + 5 % stuck-OFF cells)
    program every layer (protocols.program, journalled)       -> per-cell outcomes (converged/failed/stuck)
    read the maps back under the read clamp (protocols.read_map) -> measured maps; evaluate ("before")
    chip_in_the_loop: stuck/failed cells frozen at what they read, the rest retrained; new targets masked
    program only the masked cells, read again                -> evaluate on the new readings ("after")

Accuracies are of the digits test set with each layer's weights replaced by what the bench read
(``labctl.train.retrain.evaluate``). Run: ``python -m labctl.jobs.digits_recovery [--out DIR] [--bench YAML]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from labctl.jobs._layers import (
    JobOptions,
    check_placement,
    layer_block,
    outcome_codes,
    program_params,
    read_map_params,
    sim_variant,
)
from labctl.jobs.protocol_run import run_protocol
from labctl.store import RunStore


class DigitsRecoveryOptions(JobOptions):
    """Parameters of the bench-backed chip-in-the-loop run."""

    bench: str | None = Field(default=None, description="Bench YAML; None = the embedded simulated bench")
    stuck_on: float = Field(default=0.05, ge=0, le=0.5, description="Simulated stuck-ON cell fraction")
    stuck_off: float = Field(default=0.05, ge=0, le=0.5, description="Simulated stuck-OFF cell fraction")
    out: str = Field(default="results/digits_recovery", description="Output folder (runs, targets, results.json)")
    store: str | None = Field(default=None, description="Run store directory; None = <out>/runs")
    sizes: tuple[int, ...] = Field(default=(64, 32, 10), description="MLP sizes (differential pairs: 2 columns each)")
    g_off: float = Field(default=10e-6, gt=0, le=1e-3, description="Window bottom, S (stuck-OFF reads ~4.6 uS)")
    g_on: float = Field(default=1.5e-3, gt=0, le=5e-3, description=(
        "Window top, S: near the LRS (a stuck-ON STANFORD_V1 cell reads ~1.85 mS), so a stuck-ON cell is a "
        "saturated weight; with a 100 uS top it is a ~19x overweight and retraining cannot recover"))
    read_voltage: float = Field(default=0.1, gt=0, le=1, description="Verify / map read voltage, V")
    epochs: int = Field(default=60, ge=1, le=5000, description="Training epochs")
    retrain_epochs: int = Field(default=60, ge=0, le=5000, description="Chip-in-the-loop epochs")
    seed: int = Field(default=0, ge=0, description="Training seed")
    read_repeats: int = Field(default=2, ge=1, le=100, description="Reads averaged per cell in a map read")
    program: dict[str, Any] = Field(default_factory=lambda: {"rel_tol": 0.05, "abs_tol": 1e-6},
                                    description="protocols.program parameters")
    placement: dict[str, tuple[str, int, int]] = Field(
        default_factory=lambda: {"fc1": ("xbar0", 0, 0), "fc2": ("xbar1", 0, 0)},
        description="layer -> (crossbar, row origin, column origin)")
    transport: str = Field(default="visa", description="visa (loopback TCP, the real stack) or inproc (tests)")


@dataclass
class DigitsRecoveryRun:
    """Accuracies (0..1) before/after, cell counts and the run ids of every bench step."""

    before: dict[str, float]
    after: dict[str, float]
    predicted_after: float
    cells_total: dict[str, int]
    cells_stuck: dict[str, int]
    cells_to_program: dict[str, int]
    runs: list[dict[str, Any]] = field(default_factory=list)
    timing: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class _Steps:
    """Program / read one layer at its place on its crossbar, journalled in the store."""

    def __init__(self, bench: Any, store: RunStore, opts: DigitsRecoveryOptions, runs: list[dict[str, Any]]) -> None:
        self.bench, self.store, self.opts, self.runs = bench, store, opts, runs

    async def program(self, layer: str, targets: np.ndarray, mask: np.ndarray | None, stage: str) -> np.ndarray:
        """Write-verify the layer (only ``mask`` cells when given); per-cell outcome strings of the layer."""
        xb, params = program_params(self.opts, layer, targets, mask, stage)
        res = await run_protocol(None, "program", params, store_root=self.store.root, crossbar=xb, bench=self.bench)
        self.runs.append({"id": res.run_id, "protocol": "program", "layer": layer, "stage": stage})
        m = self.store.load_map(str(res.run_id), name="program")
        return outcome_codes(layer_block(self.opts, layer, m.status, targets.shape).astype(str))

    async def read(self, layer: str, shape: tuple[int, ...], stage: str) -> np.ndarray:
        """The layer's conductance map read under the clamp, S."""
        xb, params = read_map_params(self.opts, layer, shape)
        res = await run_protocol(None, "read_map", params, store_root=self.store.root, crossbar=xb, bench=self.bench)
        self.runs.append({"id": res.run_id, "protocol": "read_map", "layer": layer, "stage": stage})
        m = self.store.load_map(str(res.run_id), name="read_map")
        return layer_block(self.opts, layer, m.conductance, shape, np.float64)


async def run_digits_recovery(opts: DigitsRecoveryOptions, log: Any = print) -> DigitsRecoveryRun:
    """Train, program, read, evaluate, retrain around the chip, reprogram the masked cells, read, evaluate."""
    import torch

    from labctl.bench import DEFAULT_CONFIG, open_bench
    from labctl.core.config import load_bench_config
    from labctl.train.datasets import load_digits
    from labctl.train.measured import MeasuredMap
    from labctl.train.mlp import CrossbarMLP, fit_mlp
    from labctl.train.retrain import chip_in_the_loop, evaluate

    torch.set_num_threads(1)
    torch.manual_seed(opts.seed)  # the initial weights
    t0 = time.monotonic()
    out = Path(opts.out)
    store = RunStore(opts.store or out / "runs")
    d = load_digits()
    model = fit_mlp(CrossbarMLP(opts.sizes, g_off=opts.g_off, g_on=opts.g_on, v_read=opts.read_voltage),
                    d.x_train, d.y_train, epochs=opts.epochs, seed=opts.seed)
    targets = model.target_maps()
    cfg = sim_variant(load_bench_config(opts.bench or DEFAULT_CONFIG), stuck_on=opts.stuck_on,
                      stuck_off=opts.stuck_off)
    check_placement(opts.placement, {n: tm.targets.shape for n, tm in targets.items()}, cfg.crossbars)
    timing = {"train_s": time.monotonic() - t0}
    runs: list[dict[str, Any]] = []
    async with open_bench(cfg, transport=opts.transport) as bench:
        steps = _Steps(bench, store, opts, runs)
        t1 = time.monotonic()
        status = {n: await steps.program(n, tm.targets, None, "initial") for n, tm in targets.items()}
        meas = {n: MeasuredMap(n, await steps.read(n, tm.targets.shape, "initial"), status[n], opts.read_voltage,
                               str(runs[0]["id"])) for n, tm in targets.items()}
        timing["program_read_s"] = time.monotonic() - t1
        before = evaluate(model, d.x_test, d.y_test, meas)
        log(f"before: software {before['software']:.4f} measured {before['measured']:.4f}")
        t2 = time.monotonic()
        loop = chip_in_the_loop(model, meas, d.x_train, d.y_train, x_test=d.x_test, y_test=d.y_test,
                                epochs=opts.retrain_epochs, seed=opts.seed)
        timing["retrain_s"] = time.monotonic() - t2
        log(f"retrained: predicted {loop.after['measured']:.4f}; reprogram {loop.cells_to_program}")
        t3 = time.monotonic()
        after_status = dict(status)
        for n, tm in loop.targets.items():
            if tm.mask is not None and tm.mask.any():
                st = await steps.program(n, tm.targets, tm.mask, "after")
                after_status[n] = np.where(tm.mask, st, status[n])
        meas_after = {n: MeasuredMap(n, await steps.read(n, tm.targets.shape, "after"), after_status[n],
                                     opts.read_voltage) for n, tm in targets.items()}
        timing["reprogram_read_s"] = time.monotonic() - t3
    after = evaluate(loop.model, d.x_test, d.y_test, meas_after)
    log(f"after: measured {after['measured']:.4f}")
    timing["total_s"] = time.monotonic() - t0
    res = DigitsRecoveryRun(before, after, loop.after["measured"], {n: int(t.targets.size) for n, t in targets.items()},
                      {n: int((~m.usable).sum()) for n, m in meas.items()}, loop.cells_to_program, runs, timing)
    await asyncio.to_thread(_save, out / "results.json", res)
    return res


def _save(path: Path, res: DigitsRecoveryRun) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(res.to_dict(), indent=1))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="results/digits_recovery")
    ap.add_argument("--bench", default=None, help="bench YAML (default: the embedded simulated bench)")
    ap.add_argument("--stuck", type=float, default=0.05, help="fraction stuck ON and the same stuck OFF (sim)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--retrain-epochs", type=int, default=60)
    ap.add_argument("--g-on", type=float, default=1.5e-3, help="window top, S")
    a = ap.parse_args(argv)
    opts = DigitsRecoveryOptions.parse(out=a.out, bench=a.bench, seed=a.seed, retrain_epochs=a.retrain_epochs,
                                       g_on=a.g_on, stuck_on=a.stuck, stuck_off=a.stuck)
    res = asyncio.run(run_digits_recovery(opts))
    b, f = res.before, res.after
    print(f"| chip in the loop on the simulated bench, digits {'-'.join(map(str, opts.sizes))}, "
          f"{100 * opts.stuck_on:g} % stuck-ON + {100 * opts.stuck_off:g} % stuck-OFF: measured before / after | "
          f"goal >= 95 % | {100 * b['measured']:.1f} % / "
          f"{100 * f['measured']:.1f} % (software {100 * b['software']:.1f} %; reprogrammed "
          f"{sum(res.cells_to_program.values())} of {sum(res.cells_total.values())} cells) |")


if __name__ == "__main__":
    main()
