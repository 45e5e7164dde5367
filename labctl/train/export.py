"""Model directory -> per-layer target maps on disk; a stored run's maps -> measured maps; sync (retraining).

Placement of a layer on a crossbar (what :func:`measured_maps_from_run` needs to cut a layer out of a run's map)
comes from, in order: an explicit ``placement`` entry (CLI ``--layer LAYER=CROSSBAR[@ROW,COL]``), the keys
``crossbar`` and ``origin`` (``[row, col]``) of the layer's ``targets/<layer>.json``, or -- for a one-layer model
only -- the run's own crossbar at origin (0, 0).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from labctl.core.errors import ConfigError, StoreError
from labctl.train.base import CrossbarModel, load_model, read_info, save_model
from labctl.train.datasets import load_dataset
from labctl.train.mapping import ConductanceWindow
from labctl.train.measured import MeasuredMap, load_measured_maps
from labctl.train.mlp import CrossbarMLP
from labctl.train.retrain import chip_in_the_loop, evaluate, fit_noise_model
from labctl.train.targets import TargetMap

#: layer -> (crossbar, row origin, column origin)
Placement = dict[str, tuple[str, int, int]]


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


def parse_placement(specs: tuple[str, ...] | list[str]) -> Placement:
    """``LAYER=CROSSBAR`` or ``LAYER=CROSSBAR@ROW,COL`` strings -> :data:`Placement`."""
    out: Placement = {}
    for spec in specs:
        layer, sep, rest = spec.partition("=")
        xb, at, origin = rest.partition("@")
        try:
            r0, c0 = (int(v) for v in origin.split(",")) if at else (0, 0)
        except ValueError:
            r0 = c0 = -1
        if not sep or not layer or not xb or r0 < 0 or c0 < 0:
            raise ConfigError.invalid("--layer", spec, "LAYER=CROSSBAR or LAYER=CROSSBAR@ROW,COL (ROW, COL >= 0)")
        out[layer] = (xb, r0, c0)
    return out


def placement_from_targets(model_dir: str | Path, layers: list[str]) -> Placement:
    """Placement recorded in the model's ``targets/<layer>.json`` (keys ``crossbar``, optional ``origin``)."""
    out: Placement = {}
    for layer in layers:
        meta_path = Path(model_dir) / "targets" / f"{layer}.json"
        if not meta_path.is_file():
            continue
        meta = json.loads(meta_path.read_text())
        if meta.get("crossbar"):
            r0, c0 = (int(v) for v in meta.get("origin", (0, 0)))
            out[layer] = (str(meta["crossbar"]), r0, c0)
    return out


def measured_maps_from_run(
    store_root: str | Path,
    run_id: str,
    model_dir: str | Path,
    placement: Placement | None = None,
) -> dict[str, MeasuredMap]:
    """The run's latest map of each layer's crossbar (``labctl.store.RunStore.load_map``), cut to the layer.

    Cell status: the map's own status; where empty, the run's per-cell outcome; where still empty, ``converged``
    if the cell was read (finite conductance) and ``pending`` otherwise (an unread pending cell is taken at its
    target). Layers whose crossbar has no map in the
    run are left out; if no layer has one, :class:`ConfigError` names the crossbars the run holds.
    """
    from labctl.store import RunStore

    store = RunStore(store_root)
    info = store.get_run(run_id)
    model = load_model(model_dir)
    tmaps = model.target_maps()
    shapes = {k: tm.targets.shape for k, tm in tmaps.items()}
    place = placement_from_targets(model_dir, list(shapes)) | dict(placement or {})
    for k in place:
        if k not in shapes:
            raise ConfigError.invalid("--layer", k, ", ".join(shapes))
    if not place:
        if len(shapes) != 1:
            raise ConfigError.invalid("layer placement", None, "--layer LAYER=CROSSBAR[@ROW,COL] for each of "
                                      f"{', '.join(shapes)} (or 'crossbar' in targets/<layer>.json)")
        place = {next(iter(shapes)): (info.crossbar, 0, 0)}
    outcomes = store.outcomes(run_id)
    held = sorted({xb for xb, _ in store.map_names(run_id)})
    maps: dict[str, MeasuredMap] = {}
    for layer, (xb, r0, c0) in place.items():
        try:
            m = store.load_map(run_id, xb)
        except StoreError:
            continue
        rows, cols = shapes[layer]
        if r0 + rows > m.conductance.shape[0] or c0 + cols > m.conductance.shape[1]:
            raise ConfigError.invalid(f"placement of {layer}", f"{xb}@{r0},{c0} size {rows}x{cols}",
                                      f"inside the {m.conductance.shape[0]}x{m.conductance.shape[1]} map of {xb}")
        g = np.array(m.conductance[r0:r0 + rows, c0:c0 + cols], dtype=np.float64)
        st = np.array(m.status[r0:r0 + rows, c0:c0 + cols], dtype="<U9")
        for i, j in zip(*np.nonzero(st == ""), strict=True):
            o = outcomes.get((int(i) + r0, int(j) + c0)) if xb == info.crossbar else None
            st[i, j] = str(o.status) if o is not None else ("converged" if np.isfinite(g[i, j]) else "pending")
        g = np.where(np.isnan(g) & (st == "pending"), tmaps[layer].targets, g)  # unread: assume the target
        maps[layer] = MeasuredMap(layer, g, st, m.read_voltage, run_id)
    if not maps:
        raise ConfigError.invalid("run maps", f"{run_id}: crossbars {held or 'none'}",
                                  "a map of " + ", ".join(sorted({xb for xb, _, _ in place.values()})))
    return maps
