"""Model directory -> per-layer target maps on disk, and measured maps -> a retrained model (sync)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from labctl.core.errors import ConfigError
from labctl.train.base import CrossbarModel, load_model, read_info, save_model
from labctl.train.datasets import load_dataset
from labctl.train.loop import chip_in_the_loop, evaluate, fit_noise_model
from labctl.train.mapping import ConductanceWindow
from labctl.train.measured import MeasuredMap, load_measured_maps
from labctl.train.mlp import CrossbarMLP
from labctl.train.targets import TargetMap


def export_targets(
    model_dir_or_model: str | Path | CrossbarModel,
    out_dir: str | Path | None = None,
    *,
    window: ConductanceWindow | None = None,
) -> dict[str, TargetMap]:
    """Per-layer :class:`TargetMap` of a model (or a model directory), written as ``<layer>.npz`` + ``.json``.

    ``out_dir`` defaults to ``<model_dir>/targets`` for a directory; for a model object nothing is written
    unless ``out_dir`` is given. ``window`` (siemens, with read voltage) defaults to the model's training window;
    differential/quantized models re-map linearly into any window, binary models only into their own.
    """
    if isinstance(model_dir_or_model, CrossbarModel):
        model, out = model_dir_or_model, out_dir
    else:
        model = load_model(model_dir_or_model)
        out = out_dir if out_dir is not None else Path(model_dir_or_model) / "targets"
    maps = model.target_maps(window)
    if out is not None:
        for tm in maps.values():
            tm.save(out)
    return maps


def sync_measured(
    model_dir: str | Path,
    measured: dict[str, MeasuredMap] | str | Path,
    out_dir: str | Path | None = None,
    *,
    epochs: int = 30,
    tolerance: float = 0.02,
    seed: int = 0,
    progress: Any = None,
) -> dict[str, Any]:
    """Measured maps into a trained model: measured accuracy, fitted noise model, chip-in-the-loop retraining.

    Writes into ``out_dir`` (default ``<model_dir>/sync-<run>``): the retrained model, ``targets/`` (masked to the
    cells that must change), ``noise_model.json`` and ``report.json``; returns the report.
    """
    maps = measured if isinstance(measured, dict) else load_measured_maps(measured)
    model = load_model(model_dir)
    info = read_info(model_dir)
    ds = load_dataset(str(info.get("dataset", "digits")), int(info.get("data_seed", 0)))
    run = next(iter(maps.values())).run_id or "measured"
    out = Path(out_dir) if out_dir is not None else Path(model_dir) / f"sync-{run}"
    report: dict[str, Any] = {"run_id": run, "layers": {k: m.counts() for k, m in maps.items()}}
    report["before"] = evaluate(model, ds.x_test, ds.y_test, maps)
    targets = model.target_maps()
    noise = fit_noise_model(targets, maps)
    out.mkdir(parents=True, exist_ok=True)
    (out / "noise_model.json").write_text(json.dumps(noise.to_dict(), indent=1))
    if isinstance(model, CrossbarMLP):
        res = chip_in_the_loop(model, maps, ds.x_train, ds.y_train, x_test=ds.x_test, y_test=ds.y_test,
                               epochs=epochs, tolerance=tolerance, noise_model=noise, seed=seed, progress=progress)
        report["after"] = res.after
        report["cells_to_program"] = res.cells_to_program
        for tm in res.targets.values():
            tm.save(out / "targets")
        save_model(res.model, out, info | {"synced_from": run})
    else:
        raise ConfigError.invalid("model kind", model.kind, "crossbar-mlp for chip-in-the-loop retraining "
                                  "(binary models: evaluate only)")
    (out / "report.json").write_text(json.dumps(report, indent=1))
    return report
