"""The trainer's picture of the chip's lines for a job: placement, wire resistance and every cell as last read.

:func:`line_resistance` takes the wires from the job's options (e.g. a calibration of a real bench) or else from
the simulated bench's ``sim.wires``; :func:`chip_lines` builds the :class:`~labctl.train.wired.ChipLines` the
retraining runs on: the layers at their placed lines, the background of each crossbar from its scan (where each
cell stayed: after the RESET with ``order = set_reset``) with the layers' measured maps over it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from labctl.analysis.placement import Placement
from labctl.store import RunStore

if TYPE_CHECKING:
    from labctl.train.wired import ChipLines


def line_resistance(cfg: Any, given: dict[str, tuple[float, float, float]] | None,
                    crossbars: list[str]) -> dict[str, tuple[float, float, float]]:
    """Per crossbar (r_row, r_col, r_contact), ohm: ``given`` first, else the simulated bench's ``sim.wires``;
    crossbars with ideal lines are left out."""
    out: dict[str, tuple[float, float, float]] = {}
    sim_wires = getattr(getattr(cfg, "sim", None), "wires", None) or {}
    for xb in crossbars:
        if given is not None and xb in given:
            w = tuple(float(v) for v in given[xb])
        elif xb in sim_wires:
            s = sim_wires[xb]
            w = (float(s.r_row), float(s.r_col), float(s.r_contact))
        else:
            continue
        if any(w):
            out[xb] = (w[0], w[1], w[2])
    return out


def scan_backgrounds(store: RunStore, scan_runs: list[str], order: str) -> dict[str, np.ndarray]:
    """Per scanned crossbar: where each cell stayed after the scan, S (NaN where it did not reach). Without run
    ids (a resumed job) the latest completed scan of each crossbar in ``store``."""
    runs = [r for r in store.list_runs() if r.protocol == "scan" and r.status == "completed"]
    chosen = {r.crossbar: r for r in sorted(runs, key=lambda r: r.created) if not scan_runs or r.id in scan_runs}
    out = {}
    for xb, r in chosen.items():
        m = store.load_map(r.id, name="scan")
        key = "g_reset" if order == "set_reset" else "g_set"
        out[xb] = np.asarray(m.extra[key], dtype=np.float64)
    return out


def chip_lines(placement: Placement, measured: dict[str, np.ndarray], wires: dict[str, tuple[float, float, float]],
               backgrounds: dict[str, np.ndarray], arrays: dict[str, tuple[int, int]], g_off: float
               ) -> ChipLines | None:
    """The layers on their lines with wire resistance, or None when no crossbar a layer uses has wires."""
    from labctl.train.ir_drop import LineResistance
    from labctl.train.wired import ChipLines, PlacedSegment

    used = {s.crossbar for lp in placement.layers.values() for s in lp.segments}
    if not used & set(wires):
        return None
    bg = {}
    for xb in used:
        b = backgrounds.get(xb)
        bg[xb] = np.where(np.isfinite(b), b, g_off) if b is not None else np.full(arrays[xb], g_off)
    for name, lp in placement.layers.items():
        for xb, (full, mask) in lp.scatter(measured[name], arrays).items():
            bg[xb] = np.where(mask, full, bg[xb])
    layers = {name: [PlacedSegment(s.crossbar, tuple(s.rows), tuple(s.cols), tuple(s.outputs)) for s in lp.segments]
              for name, lp in placement.layers.items()}
    res = {xb: LineResistance(*wires.get(xb, (0.0, 0.0, 0.0))) for xb in used}
    return ChipLines(layers, res, bg)
