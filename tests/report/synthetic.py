"""A synthetic report: random but seeded maps, programming passes and accuracies (no bench, no torch)."""

from __future__ import annotations

import numpy as np

from labctl.report import AccuracyRow, LayerError, LayerMaps, ProgramPass, Report, Retraining


def synthetic_report(seed: int = 0) -> Report:
    rng = np.random.default_rng(seed)
    g_off, g_on = 5e-6, 77e-6
    maps = []
    for layer, xbar, shape in (("fc1", "xbar0", (16, 64)), ("fc2", "xbar1", (32, 8))):
        t = np.where(rng.random(shape) > 0.5, g_on, g_off)
        m = t * (1 + 0.03 * rng.standard_normal(shape))
        status = np.full(shape, "converged", dtype="<U9")
        status[0, 1], status[2, 3] = "stuck", "failed"
        m[0, 1] = 1.8e-3
        m[1, 2] = np.nan
        status[1, 2] = "pending"
        maps.append(LayerMaps.from_arrays(layer, xbar, "initial", t, m, status, 0.1, g_off=g_off, g_on=g_on))
    passes = [ProgramPass(layer="fc1", crossbar="xbar0", stage="initial", run_id="r1", cells=1024, converged=1000,
                          failed=20, stuck=4, pulses_total=9000, pulses_per_cell={"mean": 8.8, "p50": 7, "p90": 15,
                                                                                   "p99": 40, "max": 60},
                          pulse_histogram={"1": 100, "5": 600, "20": 300, "60": 24}, wall_seconds=40.0,
                          bench_seconds=150.0)]
    acc = [AccuracyRow(stage="seed 001 (paper)", software=0.806, measured_crossbar=0.788, n_test=160, reference=True),
           AccuracyRow(stage="before retraining", software=0.99375, ideal_crossbar=0.99375, measured_crossbar=0.9875,
                       offline_measured=0.9875, n_test=160),
           AccuracyRow(stage="after retraining", software=0.99375, ideal_crossbar=0.99375, measured_crossbar=0.99375,
                       n_test=160)]
    errs = [LayerError(layer="fc1", stage="before retraining", n_outputs=32, n_vectors=160, max_error=1.2e-2,
                       mean_error=3.4e-3, std_error=2.0e-3),
            LayerError(layer="fc2", stage="before retraining", n_outputs=4, n_vectors=160, max_error=5.5e-2,
                       mean_error=1.1e-2, std_error=9.0e-3)]
    return Report(created="2026-01-01T00:00:00Z", model={"network": "16-32-4", "recipe": "improved"},
                  accuracy=acc, maps=maps, programming=passes, layer_errors=errs,
                  retraining=Retraining(method="chip in the loop", epochs=30, cells_to_program={"fc1": 12, "fc2": 3},
                                        cells_total={"fc1": 1024, "fc2": 256}, fixed_cells={"fc1": 2, "fc2": 2},
                                        predicted_accuracy=0.99375),
                  bench_snapshot={"bench": "sim-bench", "sim": {"seed": 2024}},
                  parameters={"seed": 0, "program": {"rel_tol": 0.1}}, runs=[{"id": "r1", "protocol": "program"}],
                  timing={"total_wall_s": 123.4}, notes=["synthetic"])
