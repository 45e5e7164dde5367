"""``labctl sync RUN --store``: a run built through the RunStore API, its map cut per layer and synced."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from labctl.cli import main
from labctl.core.errors import ConfigError
from labctl.core.records import CellOutcome, CellStatus, MapRecord
from labctl.store import RunStore
from labctl.train import load_model, load_target_maps
from labctl.train.export import measured_maps_from_run, parse_placement

torch.set_num_threads(1)


def _program_run(store: RunStore, model_dir: Path, seed: int = 3) -> tuple[str, dict[str, np.ndarray]]:
    """fc1 at xbar0 (0, 0), fc2 right of it at (0, fc1 columns), one map; ~5 % stuck cells as outcomes."""
    tms = load_target_maps(model_dir / "targets")
    rng = np.random.default_rng(seed)
    c1 = tms["fc1"].targets.shape[1]
    shape = (64, c1 + tms["fc2"].targets.shape[1])
    g = np.full(shape, np.nan)
    targets = np.full(shape, np.nan)
    stuck = np.zeros(shape, dtype=bool)
    origins = {"fc1": (0, 0), "fc2": (0, c1)}
    for name, (r0, c0) in origins.items():
        tm = tms[name]
        rows, cols = tm.targets.shape
        w = tm.window
        gl = np.clip(tm.targets + 0.01 * w.span * rng.standard_normal(tm.targets.shape), w.g_off, w.g_on)
        st = rng.random(tm.targets.shape) < 0.05
        gl[st] = w.g_on
        g[r0:r0 + rows, c0:c0 + cols] = gl
        targets[r0:r0 + rows, c0:c0 + cols] = tm.targets
        stuck[r0:r0 + rows, c0:c0 + cols] = st
    info = store.create_run("program", {"targets": "fc1+fc2"}, {"bench": "test"}, crossbar="xbar0")
    with store.journal(info.id) as sink:
        for r, c in zip(*np.nonzero(np.isfinite(g)), strict=True):
            status = CellStatus.STUCK if stuck[r, c] else CellStatus.CONVERGED
            sink.emit(CellOutcome(int(r), int(c), status, float(targets[r, c]), float(g[r, c]), 3))
        # a read-back map without statuses: the statuses come from the outcomes
        sink.emit(MapRecord("read_map", g, 0.1, targets=targets, status=np.full(g.shape, "", dtype="<U9")))
    store.set_status(info.id, "completed")
    return info.id, {"fc1": stuck[:, :c1], "fc2": stuck[:16, c1:]}


def test_sync_from_store(tmp_path: Path) -> None:
    model_dir = tmp_path / "m"
    main(["train", "mlp", "--dataset", "digits", "--epochs", "4", "--hidden", "16", "--out", str(model_dir)])
    store = RunStore(tmp_path / "store")
    run, stuck = _program_run(store, model_dir)

    c1 = stuck["fc1"].shape[1]
    place = parse_placement(["fc1=xbar0", f"fc2=xbar0@0,{c1}"])
    maps = measured_maps_from_run(store.root, run, model_dir, place)
    assert set(maps) == {"fc1", "fc2"}
    for name, mm in maps.items():
        assert mm.run_id == run
        assert mm.read_voltage == 0.1
        assert np.array_equal(mm.where(CellStatus.STUCK), stuck[name])
    assert maps["fc2"].conductance.shape == stuck["fc2"].shape
    assert np.allclose(maps["fc2"].conductance, store.load_map(run).conductance[:16, c1:])

    out = tmp_path / "synced"
    main(["sync", run, "--model", str(model_dir), "--store", str(store.root), "--layer", "fc1=xbar0",
          "--layer", f"fc2=xbar0@0,{c1}", "--epochs", "2", "--out", str(out)])
    report = json.loads((out / "report.json").read_text())
    assert report["run_id"] == run
    assert report["layers"]["fc1"]["stuck"] == int(stuck["fc1"].sum()) > 0
    assert 0.0 <= report["before"]["measured"] <= 1.0
    assert load_model(out).kind == "crossbar-mlp"
    with np.load(out / "targets" / "fc1.npz") as z:
        assert not np.any(z["mask"] & stuck["fc1"])  # stuck cells are never asked to change

    # placement from the target-map metadata instead of --layer
    for name, origin in (("fc1", [0, 0]), ("fc2", [0, c1])):
        meta_path = model_dir / "targets" / f"{name}.json"
        meta = json.loads(meta_path.read_text())
        meta_path.write_text(json.dumps(meta | {"crossbar": "xbar0", "origin": origin}))
    maps2 = measured_maps_from_run(store.root, run, model_dir)
    assert np.array_equal(maps2["fc2"].conductance, maps["fc2"].conductance)


def test_sync_store_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--layer"):
        parse_placement(["fc1"])
    with pytest.raises(ConfigError, match="--layer"):
        parse_placement(["fc1=xbar0@a,b"])
    model_dir = tmp_path / "m"
    main(["train", "mlp", "--dataset", "digits", "--epochs", "1", "--hidden", "8", "--out", str(model_dir)])
    store = RunStore(tmp_path / "store")
    run, _ = _program_run_small(store)
    with pytest.raises(ConfigError, match="layer placement"):  # two layers, no placement anywhere
        measured_maps_from_run(store.root, run, model_dir)
    with pytest.raises(ConfigError, match="run maps"):  # the run holds no map of xbar9
        measured_maps_from_run(store.root, run, model_dir, {"fc1": ("xbar9", 0, 0)})
    with pytest.raises(ConfigError, match="placement of fc1"):  # 64 rows do not fit an 8x8 map
        measured_maps_from_run(store.root, run, model_dir, {"fc1": ("xbar0", 0, 0)})


def _program_run_small(store: RunStore) -> tuple[str, None]:
    info = store.create_run("read_map", {}, {}, crossbar="xbar0")
    with store.journal(info.id) as sink:
        sink.emit(MapRecord("read_map", np.full((8, 8), 1e-5), 0.1))
    return info.id, None
