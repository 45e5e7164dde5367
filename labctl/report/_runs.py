"""Build report sections from stored runs (the journal), and rebuild a whole report from run ids.

A full-loop run (``labctl loop``) stores its report as a result named :data:`REPORT_RESULT` in its own run;
``report_from_runs`` returns it. Plain protocol runs (``labctl run program|read_map|inference``) are turned
into maps (a ``read_map`` run is paired with a ``program`` run of the same crossbar for its targets),
programming statistics and the snapshot and parameters of every run.
"""

from __future__ import annotations

import datetime as _dt
import os
from typing import Any

import numpy as np

from labctl.analysis import level_stats, program_stats, pulses_per_cell
from labctl.core.errors import ConfigError
from labctl.report._forming import FormingMap
from labctl.report._model import LayerMaps, LevelRow, ProgramPass, Report
from labctl.store import MapArrays, RunStore

REPORT_RESULT = "loop_report"


def now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def bounding_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(row0, row1, col0, col1), half-open, of the True cells (the whole array when none)."""
    rr, cc = np.nonzero(mask)
    if rr.size == 0:
        return 0, mask.shape[0], 0, mask.shape[1]
    return int(rr.min()), int(rr.max()) + 1, int(cc.min()), int(cc.max()) + 1


def program_pass(store: RunStore, run_id: str, layer: str, stage: str, wall_seconds: float | None = None,
                 bench_seconds: float | None = None) -> ProgramPass:
    """Write-verify statistics of a stored ``program`` run (pulses from the journal, all attempts)."""
    info = store.get_run(run_id)
    ev = store.event_arrays(run_id)
    outs = list(store.outcomes(run_id).values())
    st = program_stats(ev, outs)
    tol = {k: float(info.params.get(k, d)) for k, d in (("abs_tol", 1e-6), ("rel_tol", 0.03))}
    levels = [LevelRow(**{k: v for k, v in lv.to_dict().items() if k != "within_fraction"})
              for lv in level_stats(outs, tol["abs_tol"], tol["rel_tol"], pulses_per_cell(ev))]
    t = ev["t"][np.isfinite(ev["t"])] if ev["t"].size else ev["t"]
    bench = bench_seconds if bench_seconds is not None else (float(t.max() - t.min()) if t.size else 0.0)
    wall = wall_seconds if wall_seconds is not None else max(0.0, info.updated - info.created)
    return ProgramPass(layer=layer, crossbar=info.crossbar, stage=stage, run_id=run_id, cells=st.cells,
                       converged=st.converged, failed=st.failed, stuck=st.stuck, pulses_total=st.pulses_total,
                       pulses_per_cell=st.pulses_per_cell,
                       pulse_histogram={str(k): v for k, v in st.pulse_histogram.items()},
                       wall_seconds=wall, bench_seconds=bench, levels=levels)


def layer_maps(layer: str, crossbar: str, stage: str, program: MapArrays | None, measured: MapArrays,
               box: tuple[int, int, int, int] | None = None, status: np.ndarray | None = None,
               window: tuple[float, float] | None = None, reprogrammed: np.ndarray | None = None) -> LayerMaps:
    """A :class:`LayerMaps` from stored maps, cropped to ``box`` (default: the programmed cells)."""
    targets = program.targets if program is not None else measured.targets
    st = status if status is not None else (program.status if program is not None else measured.status)
    r0, r1, c0, c1 = box or bounding_box(np.isfinite(targets) | (np.asarray(st) != ""))
    kw: dict[str, Any] = {"origin": (r0, c0)}
    if window is not None:
        kw["g_off"], kw["g_on"] = window
    if reprogrammed is not None:
        kw["reprogrammed"] = np.asarray(reprogrammed)[r0:r1, c0:c1]
    return LayerMaps.from_arrays(layer, crossbar, stage, targets[r0:r1, c0:c1],
                                 measured.conductance[r0:r1, c0:c1], np.asarray(st)[r0:r1, c0:c1],
                                 measured.read_voltage, **kw)


def report_from_runs(store_root: str | os.PathLike[str], run_ids: list[str]) -> Report:
    """A report of the given runs: a stored loop report as it was, else one built from protocol runs."""
    if not run_ids:
        raise ConfigError.invalid("RUN", "none", "at least one run id")
    store = RunStore(store_root)
    infos = [store.get_run(r) for r in run_ids]
    for info in infos:
        for name, data in store.results(info.id):
            if name == REPORT_RESULT:
                rep = Report.from_json(str(data["json"]))
                if len(infos) > 1:
                    rep.notes.append("Other runs given with a loop run were ignored: "
                                     + ", ".join(i.id for i in infos if i.id != info.id))
                return rep
    rep = Report(created=now_iso(), title="labctl report of stored runs")
    programs = {i.crossbar: i for i in infos if i.protocol == "program"}
    for info in infos:
        rep.runs.append({"id": info.id, "protocol": info.protocol, "crossbar": info.crossbar, "stage": info.status})
        rep.parameters[info.id] = {"protocol": info.protocol, "crossbar": info.crossbar, "params": info.params}
        if not rep.bench_snapshot:
            rep.bench_snapshot = info.snapshot
        if info.protocol == "program":
            pm = store.load_map(info.id, name="program")
            rep.maps.append(layer_maps(info.crossbar, info.crossbar, "programmed (verify reads)", pm, pm))
            rep.programming.append(program_pass(store, info.id, info.crossbar, "program"))
        elif info.protocol == "forming":
            rep.forming.append(FormingMap.from_map(info.crossbar, info.id, store.load_map(info.id, name="forming")))
        elif info.protocol == "read_map":
            meas = store.load_map(info.id, name="read_map")
            src = programs.get(info.crossbar)
            prog: MapArrays | None = store.load_map(src.id, name="program") if src is not None else None
            rep.maps.append(layer_maps(info.crossbar, info.crossbar, "read_map", prog, meas))
    if not rep.maps and not rep.programming and not rep.forming:
        rep.notes.append("None of the runs holds a map (give program, read_map or forming runs, or a loop run).")
    return rep
