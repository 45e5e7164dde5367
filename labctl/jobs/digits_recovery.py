"""Chip-in-the-loop recovery of a digits MLP on the simulated bench with stuck cells (issue 5).

:func:`run_digits_recovery` reads top to bottom::

    train a digits differential-pair MLP (labctl.train)       -> per-layer target maps (S) in the window
    open the bench (default: configs/sim_bench.yaml with 5 % stuck-ON + 5 % stuck-OFF cells)
    scan every crossbar and place the layers around the faults (place = auto; the main loop's placement)
    program every layer at its lines (protocols.program, journalled) -> per-cell outcomes (converged/failed/stuck)
    read the maps back under the read clamp (protocols.read_map) -> measured maps
    evaluate ("before"): offline from the maps read back, and by inference on the bench (protocols.inference)
    chip_in_the_loop: stuck/failed cells frozen at what they read, the rest retrained; new targets masked
    program only the masked cells, read again, evaluate again ("after")

Two accuracies per stage: ``measured`` = the digits test set (540 images) through the trainer's forward with each
layer's weights replaced by what the bench read (``labctl.train.retrain.evaluate``); ``bench`` = the first
``n_test`` images of a seeded permutation of the test set (:func:`bench_subset`; all 540 by default) run on the
bench layer by layer, column currents measured and passed through the periphery (the main loop's bench
inference), with ``offline_subset`` = the offline number on the same images.
Run: ``python -m labctl.jobs.digits_recovery [--out DIR] [--bench YAML] [--n-test N]``.
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

from labctl.jobs._layers import JobOptions, check_placement, outcome_codes, sim_variant
from labctl.jobs._placed import PlaceMode, fixed_placement, placement_summary, scan_and_place
from labctl.jobs._placed_steps import PlacedSteps
from labctl.store import RunStore

#: seed of the permutation of the test set whose first ``n_test`` images run on the bench
BENCH_SUBSET_SEED = 0


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
        description="layer -> (crossbar, row origin, column origin); used with place = fixed")
    place: PlaceMode = Field(default="fixed", description=(
        "fixed: each layer as one block at its 'placement' origin; auto: scan every crossbar and place the layers "
        "around the faults (labctl.analysis.placement; on the 64 x 64 bench it can split fc1 over both crossbars "
        "and leave fc2 no rows, see docs/decisions/0034)"))
    scan: dict[str, Any] = Field(
        default_factory=lambda: {"read_found": False, "restore": False},
        description="protocols.scan parameters (place = auto; the cells are programmed next, nothing to restore)")
    n_test: int = Field(default=540, ge=0, le=540, description=(
        "Test images run on the bench per stage (a seeded subset, see bench_subset; 0 = offline accuracy only)"))
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
    placement: dict[str, Any] = field(default_factory=dict)
    n_bench: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def bench_subset(y: np.ndarray, n: int, seed: int = BENCH_SUBSET_SEED) -> np.ndarray:
    """Indices of the ``n`` test images run on the bench: the first ``n`` of a seeded permutation (sorted)."""
    return np.sort(np.random.default_rng(seed).permutation(len(y))[:n])


async def run_digits_recovery(opts: DigitsRecoveryOptions, log: Any = print) -> DigitsRecoveryRun:
    """Train, place, program, read, evaluate (offline and on the bench), retrain around the chip, reprogram the
    masked cells, read, evaluate again."""
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
    shapes = {n: (int(tm.targets.shape[0]), int(tm.targets.shape[1])) for n, tm in targets.items()}
    arrays = {name: (int(xb.rows), int(xb.cols)) for name, xb in cfg.crossbars.items()}
    if opts.place == "fixed":
        check_placement(opts.placement, dict(shapes), cfg.crossbars)
    sub = bench_subset(d.y_test, opts.n_test)
    x_bench, y_bench = d.x_test[sub], d.y_test[sub]
    timing = {"train_s": time.monotonic() - t0}
    async with open_bench(cfg, transport=opts.transport) as bench:
        steps = PlacedSteps(bench, store, arrays, out, read_voltage=opts.read_voltage, read_repeats=opts.read_repeats,
                            program=opts.program, read_clamp=float(cfg.limits.read_clamp))
        t1 = time.monotonic()
        faults = None
        if opts.place == "auto":
            mid = 0.5 * (opts.g_on + opts.g_off)
            steps.placement, faults, _scans = await scan_and_place(
                steps.step, store, arrays, shapes, {n: tm.targets > mid for n, tm in targets.items()}, opts.scan,
                out, seed=opts.seed)
        else:
            steps.placement = fixed_placement(opts.placement, shapes, arrays)
        timing["scan_place_s"] = time.monotonic() - t1
        t1 = time.monotonic()
        status = {n: outcome_codes(await steps.program(n, tm.targets, None, "initial")) for n, tm in targets.items()}
        first = next(str(r["id"]) for r in steps.runs if r["protocol"] == "program")
        meas = {n: MeasuredMap(n, await steps.read(n, "initial"), status[n], opts.read_voltage, first)
                for n in targets}
        timing["program_read_s"] = time.monotonic() - t1
        before = evaluate(model, d.x_test, d.y_test, meas)
        t1 = time.monotonic()
        before |= await _bench_accuracy(steps, model, targets, meas, x_bench, y_bench, "before")
        timing["infer_before_s"] = time.monotonic() - t1
        log(f"before: software {before['software']:.4f} measured {before['measured']:.4f} "
            f"bench {before.get('bench', float('nan')):.4f} ({len(sub)} images)")
        t2 = time.monotonic()
        loop = chip_in_the_loop(model, meas, d.x_train, d.y_train, x_test=d.x_test, y_test=d.y_test,
                                epochs=opts.retrain_epochs, seed=opts.seed)
        timing["retrain_s"] = time.monotonic() - t2
        log(f"retrained: predicted {loop.after['measured']:.4f}; reprogram {loop.cells_to_program}")
        t3 = time.monotonic()
        after_status = dict(status)
        for n, tm in loop.targets.items():
            if tm.mask is not None and tm.mask.any():
                st = outcome_codes(await steps.program(n, tm.targets, tm.mask, "after"))
                after_status[n] = np.where(tm.mask, st, status[n])
        meas_after = {n: MeasuredMap(n, await steps.read(n, "after"), after_status[n], opts.read_voltage)
                      for n in targets}
        timing["reprogram_read_s"] = time.monotonic() - t3
        after = evaluate(loop.model, d.x_test, d.y_test, meas_after)
        t3 = time.monotonic()
        after |= await _bench_accuracy(steps, loop.model, loop.targets, meas_after, x_bench, y_bench, "after")
        timing["infer_after_s"] = time.monotonic() - t3
    log(f"after: measured {after['measured']:.4f} bench {after.get('bench', float('nan')):.4f}")
    timing["total_s"] = time.monotonic() - t0
    if len(sub):
        timing["infer_per_image_s"] = (timing["infer_before_s"] + timing["infer_after_s"]) / (2 * len(sub))
    res = DigitsRecoveryRun(before, after, loop.after["measured"], {n: int(t.targets.size) for n, t in targets.items()},
                            {n: int((~m.usable).sum()) for n, m in meas.items()}, loop.cells_to_program, steps.runs,
                            timing, placement_summary(steps.placement, faults, None), len(sub))
    await asyncio.to_thread(_save, out / "results.json", res)
    return res


async def _bench_accuracy(steps: PlacedSteps, model: Any, targets: dict[str, Any], meas: dict[str, Any],
                          x: np.ndarray, y: np.ndarray, stage: str) -> dict[str, float]:
    """``bench``: accuracy of ``x`` run on the bench through ``targets``' peripheries (the digital bias and
    activation of the model's current weights); ``offline_subset``: the offline accuracy on the maps read back,
    same images. Empty when ``x`` is."""
    from labctl.train.retrain import evaluate

    if not len(x):
        return {}
    logits = (await steps.infer({n: tm.periphery for n, tm in targets.items()}, x, stage))[-1]
    return {"bench": float((np.argmax(logits, axis=1) == y).mean()),
            "offline_subset": evaluate(model, x, y, meas)["measured"]}


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
    ap.add_argument("--n-test", type=int, default=540, help="test images run on the bench per stage (0: none)")
    ap.add_argument("--place", default="fixed", help="fixed (blocks at the origins) or auto (scan + placement)")
    ap.add_argument("--transport", default="visa", help="visa (loopback TCP, the real stack) or inproc")
    a = ap.parse_args(argv)
    opts = DigitsRecoveryOptions.parse(out=a.out, bench=a.bench, seed=a.seed, retrain_epochs=a.retrain_epochs,
                                       g_on=a.g_on, stuck_on=a.stuck, stuck_off=a.stuck, n_test=a.n_test,
                                       place=a.place, transport=a.transport)
    res = asyncio.run(run_digits_recovery(opts))
    b, f = res.before, res.after
    print(f"| chip in the loop on the simulated bench, digits {'-'.join(map(str, opts.sizes))}, "
          f"{100 * opts.stuck_on:g} % stuck-ON + {100 * opts.stuck_off:g} % stuck-OFF: measured before / after | "
          f"goal >= 95 % | {100 * b['measured']:.1f} % / "
          f"{100 * f['measured']:.1f} % (software {100 * b['software']:.1f} %; reprogrammed "
          f"{sum(res.cells_to_program.values())} of {sum(res.cells_total.values())} cells) |")
    if res.n_bench:
        print(f"| same run, inference on the bench ({res.n_bench} test images, "
              f"{res.timing['infer_per_image_s']:.2f} s per image): before / after | goal >= 96 % | "
              f"{100 * b['bench']:.1f} % / {100 * f['bench']:.1f} % (offline on the same images "
              f"{100 * b['offline_subset']:.1f} % / {100 * f['offline_subset']:.1f} %) |")


if __name__ == "__main__":
    main()
