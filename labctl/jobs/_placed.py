"""A job's layers at their placed lines: scan -> placement artefact -> program / read / infer per crossbar segment.

The placement (:mod:`labctl.analysis.placement`) says, per layer and per crossbar it uses, which physical row
carries each logical input and which physical column each logical output. Everything on the bench goes through it:

* :func:`scan_and_place` scans every crossbar (``protocols.scan``, journalled), places the layers around the faults
  and stores the placement as JSON in the run store (a "placement" run with a result record) and beside the runs
  (``placement.json``); a rerun with ``reuse`` loads the stored placement instead of scanning again, so a job killed
  after placing and resumed programs the same lines;
* :func:`program_files` writes one full-array target NPZ (+ mask) per segment for ``protocols.program``;
* :func:`read_params` / :func:`infer_params` are the ``read_map`` and ``inference`` parameters of a segment;
* :meth:`LayerPlacement.gather` turns the per-crossbar full-array maps back into the logical layer the trainer syncs.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import AfterValidator

from labctl.analysis.placement import LayerPlacement, Placement, Segment, damage, place, switching_risk
from labctl.core.errors import ConfigError
from labctl.core.records import ResultRecord
from labctl.store import RunStore

#: how a job places its layers
PLACE_MODES = ("auto", "fixed")


def _check_place(v: str) -> str:
    if v not in PLACE_MODES:
        raise ValueError(f"place {v!r} is invalid; allowed: {', '.join(PLACE_MODES)}")
    return v


#: a job option naming a placement mode (auto: scan and place around the faults; fixed: blocks at given origins)
PlaceMode = Annotated[str, AfterValidator(_check_place)]

PLACEMENT_RESULT = "placement"

#: run_protocol-like callable of the job: (protocol, params, crossbar, label, stage) -> result with ``run_id``.
RunStep = Callable[[str, dict[str, Any], str, str, str], Awaitable[Any]]


def stored_placement(store: RunStore) -> tuple[Placement, dict[str, np.ndarray], list[str]] | None:
    """The latest placement stored in ``store`` (with the fault maps and the scan runs it was made from), or
    None."""
    runs = [r for r in store.list_runs() if r.protocol == PLACEMENT_RESULT and r.status == "completed"]
    if not runs:
        return None
    latest = max(runs, key=lambda r: r.created)
    data = dict(store.results(latest.id))[PLACEMENT_RESULT]
    faults = {x: np.asarray(v).astype(str) for x, v in data["faults"].items()}
    scans = [str(s) for s in latest.params.get("scans", [])]
    return Placement.from_dict(data["placement"]), faults, scans


async def scan_and_place(run: RunStep, store: RunStore, crossbars: dict[str, tuple[int, int]],
                         shapes: dict[str, tuple[int, int]], on_targets: dict[str, np.ndarray],
                         scan_params: dict[str, Any], out: Path, *, reuse: bool = False,
                         seed: int = 0, risk_window: int = 0) -> tuple[Placement, dict[str, np.ndarray], list[str]]:
    """Scan every crossbar, place the layers, store the placement; with ``reuse`` a stored placement for the same
    layer shapes is taken as it is, with the scans it was made from (no new scan). ``risk_window`` > 0: working
    cells near many stuck-OFF ones count as partly stuck (:func:`~labctl.analysis.placement.switching_risk`).
    Returns the placement, the fault maps and the scan run ids."""
    import protocols
    from protocols.scan import fault_classes

    if reuse:
        found = stored_placement(store)
        if found is not None and {n: (lp.n_in, lp.n_out) for n, lp in found[0].layers.items()} == shapes:
            return found
    faults: dict[str, np.ndarray] = {}
    scans: list[str] = []
    protocols.get("scan").parse(scan_params)
    for xb in crossbars:
        res = await run("scan", dict(scan_params), xb, f"scan {xb} (fault map)", "scan")
        m = store.load_map(res.run_id, name="scan")
        faults[xb] = fault_classes(np.asarray(m.extra["fault_class"], dtype=np.int64))
        scans.append(res.run_id)
    risk = {x: switching_risk(f, risk_window) for x, f in faults.items()} if risk_window > 0 else None
    placement = place(shapes, faults, on_targets=on_targets, seed=seed, risk=risk)
    placement.check(crossbars)
    info = store.create_run(PLACEMENT_RESULT, {"seed": seed, "scans": scans, "risk_window": risk_window},
                            {"crossbars": list(crossbars)},
                            crossbar="+".join(crossbars))
    with store.journal(info.id) as j:
        j.emit(ResultRecord(PLACEMENT_RESULT, {"placement": placement.to_dict(),
                                               "faults": {x: f.tolist() for x, f in faults.items()}}))
    store.set_status(info.id, "completed")
    (out / "placement.json").write_text(placement.to_json())
    return placement, faults, scans


def fixed_placement(origins: dict[str, tuple[str, int, int]], shapes: dict[str, tuple[int, int]],
                    crossbars: dict[str, tuple[int, int]]) -> Placement:
    """The old fixed blocks at (row0, col0), checked against the arrays."""
    from labctl.analysis.placement import origin_placement

    pl = origin_placement(origins, shapes)
    for lp in pl.layers.values():
        s = lp.segments[0]
        if s.crossbar not in crossbars:
            raise ConfigError.invalid(f"placement.{lp.layer}", s.crossbar, ", ".join(crossbars))
        rows, cols = crossbars[s.crossbar]
        if s.rows[-1] >= rows or s.cols[-1] >= cols:
            raise ConfigError.invalid(f"placement.{lp.layer}", (s.crossbar, s.rows[0], s.cols[0]),
                                      f"an origin where the {lp.n_in}x{lp.n_out} map fits the {rows}x{cols} array")
    pl.check(crossbars)
    return pl


def program_files(lp: LayerPlacement, targets: np.ndarray, mask: np.ndarray | None, crossbars: dict[str, Any],
                  folder: Path, stage: str) -> dict[str, Path]:
    """Per segment with cells to program: a full-array NPZ (targets, mask) for ``protocols.program`` at origin 0."""
    folder.mkdir(parents=True, exist_ok=True)
    full = lp.scatter(targets, crossbars)
    sel = lp.scatter(np.ones_like(targets, dtype=np.float64) if mask is None else mask.astype(np.float64), crossbars)
    out = {}
    for xb, (t, m) in full.items():
        want = m & (np.nan_to_num(sel[xb][0]) > 0.5)
        if not want.any():
            continue
        path = folder / f"{lp.layer}-{xb}-{stage.replace(' ', '_')}.npz"
        np.savez(path, targets=np.where(want, t, np.nan), mask=want)
        out[xb] = path
    return out


def read_params(seg: Segment, read_voltage: float, repeats: int) -> dict[str, Any]:
    """``read_map`` parameters reading exactly the segment's rows x columns."""
    return {"read_voltage": read_voltage, "repeats": repeats, "rows": sorted(seg.rows), "cols": sorted(seg.cols)}


def infer_params(seg: Segment, inputs: np.ndarray, input_volts: float) -> dict[str, Any]:
    """``inference`` parameters: logical input i on ``seg.rows[i]``, the segment's columns measured."""
    return {"inputs": inputs.tolist(), "input_volts": input_volts, "rows": list(seg.rows), "cols": list(seg.cols)}


def placement_summary(placement: Placement, faults: dict[str, np.ndarray] | None,
                      on_targets: dict[str, np.ndarray] | None) -> dict[str, Any]:
    """The placement as reported: the artefact, the damage it leaves per layer, the fault counts per crossbar."""
    d: dict[str, Any] = json.loads(placement.to_json())  # JSON-plain (lists, not tuples): the report round-trips
    if faults:
        d["damage"] = damage(placement, faults, on_targets)
        d["fault_counts"] = {x: {c: int((f == c).sum()) for c in ("working", "stuck_on", "stuck_off", "virgin")}
                             for x, f in faults.items()}
    return d
