"""Checks 5 and 6 on the test area: a clamped map read against the expected conductances, and (only when allowed)
write-verify of the area followed by a read-back. Both are journaled runs in ``<out>/runs``."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from labctl.hil._context import HilContext
from labctl.hil._result import CheckResult, Status
from labctl.jobs.protocol_run import run_protocol
from labctl.store import RunStore

MAP_TITLE = "Map read of the test area within the clamp"
PROGRAM_TITLE = "Write-verify of the test area, then read back"


def _area(ctx: HilContext) -> tuple[str, tuple[int, int, int, int]]:
    area = ctx.hil.test_area
    if area is not None:
        (r0, c0), (nr, nc) = area.origin, area.shape
        return area.crossbar, (r0, r0 + nr, c0, c0 + nc)
    xb = ctx.config.crossbars[ctx.crossbar]
    return ctx.crossbar, (0, xb.rows, 0, xb.cols)


def _store(ctx: HilContext) -> Path:
    if ctx.out is not None:
        return ctx.out / "runs"
    return Path(tempfile.mkdtemp(prefix="labctl-hil-runs-"))


async def _read(ctx: HilContext, crossbar: str, region: tuple[int, int, int, int]) -> tuple[str | None, Any]:
    res = await run_protocol(ctx.config, "read_map", {"read_voltage": ctx.read_voltage, "repeats": 1,
                                                      "region": list(region)},
                             store_root=_store(ctx), crossbar=crossbar, bench=ctx.bench)
    if res.run_id is None:
        return None, np.empty(0)
    g = RunStore(_store(ctx)).load_map(res.run_id, crossbar, "read_map").conductance
    r0, r1, c0, c1 = region
    return res.run_id, np.asarray(g[r0:r1, c0:c1], dtype=float)


def _stats(g: Any) -> dict[str, float]:
    return {"min_S": float(np.min(g)), "median_S": float(np.median(g)), "max_S": float(np.max(g)),
            "p05_S": float(np.percentile(g, 5)), "p95_S": float(np.percentile(g, 95))}


async def check_map_read(ctx: HilContext) -> CheckResult:
    crossbar, region = _area(ctx)
    run_id, g = await _read(ctx, crossbar, region)
    st = _stats(g)
    evidence = [f"run {run_id}: {g.size} cells of {crossbar} rows {region[0]}..{region[1] - 1}, cols "
                f"{region[2]}..{region[3] - 1} at {ctx.read_voltage:g} V",
                "read conductance: " + ", ".join(f"{k.removesuffix('_S')} {v * 1e6:.3g} µS" for k, v in st.items())]
    data = {"run": run_id, "region": list(region), "stats": st, "conductance": g.tolist()}
    exp = ctx.hil.expected
    if exp is None:
        return CheckResult("map_read", MAP_TITLE, Status.PASS, f"{g.size} cells read (no expectation configured: "
                           "set hil.expected to check the distribution)", evidence, data)
    inside = float(np.mean((g >= exp.min) & (g <= exp.max)))
    data["fraction_inside"] = inside
    evidence.append(f"{inside:.1%} of cells within [{exp.min * 1e6:g}, {exp.max * 1e6:g}] µS "
                    f"(at least {exp.fraction:.0%} expected)")
    if inside < exp.fraction:
        low, high = float(np.mean(g < exp.min)), float(np.mean(g > exp.max))
        return CheckResult("map_read", MAP_TITLE, Status.FAIL,
                           f"only {inside:.1%} of the cells read within [{exp.min * 1e6:g}, {exp.max * 1e6:g}] µS "
                           f"({low:.1%} below, {high:.1%} above): wrong chip, unformed array, or damaged cells",
                           evidence, data)
    return CheckResult("map_read", MAP_TITLE, Status.PASS,
                       f"{inside:.1%} of {g.size} cells within the expected range", evidence, data)


async def check_program(ctx: HilContext) -> CheckResult:
    if not ctx.allow_program:
        return CheckResult("program", PROGRAM_TITLE, Status.SKIP, "not run: needs --allow-program (it writes cells)")
    if ctx.hil.test_area is None:
        return CheckResult("program", PROGRAM_TITLE, Status.SKIP, "not run: the config names no hil.test_area")
    crossbar, region = _area(ctx)
    r0, r1, c0, c1 = region
    levels = sorted(ctx.hil.program_levels)
    rng = np.random.default_rng(0)
    targets = rng.choice(levels, size=(r1 - r0, c1 - c0))
    store = _store(ctx)
    store.mkdir(parents=True, exist_ok=True)
    path = store / "hil_targets.npz"
    np.savez(path, targets=targets)
    res = await run_protocol(ctx.config, "program", {"targets": str(path), "origin": [r0, c0]},
                             store_root=store, crossbar=crossbar, bench=ctx.bench)
    run_id, g = await _read(ctx, crossbar, region)
    assert res.run_id is not None
    outcomes = RunStore(store).outcomes(res.run_id)
    converged = sum(1 for o in outcomes.values() if str(o.status) == "converged")
    n = targets.size
    err = np.abs(g - targets) / targets
    evidence = [f"program run {res.run_id}: {converged}/{n} cells converged to {[f'{x * 1e6:g} µS' for x in levels]}",
                f"read back (run {run_id}): median relative error {float(np.median(err)):.1%}"]
    data = {"program_run": res.run_id, "read_run": run_id, "converged": converged, "cells": n}
    if converged < ctx.hil.program_yield * n:
        return CheckResult("program", PROGRAM_TITLE, Status.FAIL,
                           f"only {converged} of {n} test cells converged (at least {ctx.hil.program_yield:.0%} "
                           "needed): check the chip and the programming settings before a long job",
                           evidence, data)
    return CheckResult("program", PROGRAM_TITLE, Status.PASS, f"{converged}/{n} cells converged and read back",
                       evidence, data)
