"""Export a run to HDF5 (one file), CSV (a directory of files) or NPZ (the latest conductance map).

NPZ map format (what the trainer imports): ``conductance`` (rows x cols, S), ``targets`` (S, NaN where
none), ``status`` (strings: converged / failed / stuck / pending, or empty), ``read_voltage`` (0-d, V).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from labctl.core.errors import StoreError

if TYPE_CHECKING:
    from labctl.store._runs import RunStore

FORMATS = ("hdf5", "csv", "npz")


def export_run(store: RunStore, run_id: str, fmt: str, out: Path | None) -> Path:
    if fmt not in FORMATS:
        raise StoreError(f"fmt = {fmt!r} is invalid; allowed: {', '.join(FORMATS)}")
    info = store.get_run(run_id)
    suffix = {"hdf5": ".h5", "csv": "", "npz": ".npz"}[fmt]
    out = out or info.path / f"export{suffix or '_csv'}"
    if fmt == "npz":
        return save_map_npz(store, run_id, out)
    if fmt == "hdf5":
        return _hdf5(store, run_id, out)
    return _csv(store, run_id, out)


def save_map_npz(store: RunStore, run_id: str, out: Path, crossbar: str | None = None) -> Path:
    m = store.load_map(run_id, crossbar)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, conductance=m.conductance, targets=m.targets, status=m.status.astype(str),
             read_voltage=np.float64(m.read_voltage))
    return out


def _hdf5(store: RunStore, run_id: str, out: Path) -> Path:
    import h5py

    info = store.get_run(run_id)
    out.parent.mkdir(parents=True, exist_ok=True)
    str_dt = h5py.string_dtype()
    with h5py.File(out, "w") as f:
        for k in ("id", "protocol", "crossbar", "status"):
            f.attrs[k] = getattr(info, k)
        f.attrs["params"] = json.dumps(info.params)
        f.attrs["snapshot"] = json.dumps(info.snapshot)
        ev = f.create_group("events")
        for name, arr in store.event_arrays(run_id).items():
            ev.create_dataset(name, data=arr.astype(object) if arr.dtype.kind == "U" else arr,
                              dtype=str_dt if arr.dtype.kind == "U" else arr.dtype)
        oc = f.create_group("outcomes")
        outs = sorted(store.outcomes(run_id).values(), key=lambda o: (o.row, o.col))
        oc.create_dataset("row", data=np.array([o.row for o in outs], dtype=np.int64))
        oc.create_dataset("col", data=np.array([o.col for o in outs], dtype=np.int64))
        oc.create_dataset("status", data=[str(o.status) for o in outs], dtype=str_dt)
        oc.create_dataset("target", data=np.array([o.target for o in outs], dtype=np.float64))
        oc.create_dataset("conductance", data=np.array([o.conductance for o in outs], dtype=np.float64))
        oc.create_dataset("pulses", data=np.array([o.pulses for o in outs], dtype=np.int64))
        maps = f.create_group("maps")
        for i, (xb, m) in enumerate(store.load_maps(run_id)):
            g = maps.create_group(f"{i:03d}_{xb}_{m.name}")
            g.attrs["crossbar"], g.attrs["name"], g.attrs["read_voltage"] = xb, m.name, m.read_voltage
            g.create_dataset("conductance", data=m.conductance)
            g.create_dataset("targets", data=m.targets)
            g.create_dataset("status", data=m.status.astype(object), dtype=str_dt)
            for k, v in m.extra.items():
                g.create_dataset(f"extra_{k}", data=v)
        res = f.create_group("results")
        for i, (name, data) in enumerate(store.results(run_id)):
            res.create_dataset(f"{i:03d}_{name}", data=json.dumps(data), dtype=str_dt)
        inf = store.inferences(run_id)
        if inf:
            ig = f.create_group("inferences")
            ig.create_dataset("t", data=np.array([r["t"] for r in inf], dtype=np.float64))
            ig.create_dataset("row_volts", data=np.array([r["row_volts"] for r in inf], dtype=np.float64))
            ig.create_dataset("currents", data=np.array([r["currents"] for r in inf], dtype=np.float64))
            ig.create_dataset("cols", data=np.array(inf[-1]["cols"], dtype=np.int64))
    return out


def _csv(store: RunStore, run_id: str, out: Path) -> Path:
    info = store.get_run(run_id)
    out.mkdir(parents=True, exist_ok=True)
    (out / "run.json").write_text(json.dumps(info.to_dict(snapshot=True), indent=2, default=str))
    ev = store.event_arrays(run_id)
    names = list(ev)
    with (out / "events.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(names)
        w.writerows(zip(*(ev[n].tolist() for n in names), strict=True))
    with (out / "outcomes.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["row", "col", "status", "target", "conductance", "pulses"])
        for o in sorted(store.outcomes(run_id).values(), key=lambda o: (o.row, o.col)):
            w.writerow([o.row, o.col, str(o.status), o.target, o.conductance, o.pulses])
    for i, (xb, m) in enumerate(store.load_maps(run_id)):
        stem = f"map{i:03d}_{xb}_{m.name}"
        np.savetxt(out / f"{stem}_conductance.csv", m.conductance, delimiter=",")
        np.savetxt(out / f"{stem}_targets.csv", m.targets, delimiter=",")
        np.savetxt(out / f"{stem}_status.csv", m.status.astype(str), delimiter=",", fmt="%s")
    results = store.results(run_id)
    if results:
        (out / "results.json").write_text(json.dumps([{"name": n, "data": d} for n, d in results]))
    inf = store.inferences(run_id)
    if inf:
        (out / "inferences.json").write_text(json.dumps(inf))
    return out
