"""scan: every cell classified against the simulated chip's own stuck cells, within the clamp, resumable."""

from __future__ import annotations

import dataclasses

import numpy as np

from labctl.core import CellOutcome, MapRecord, PulseRecord, ReadRecord, ResultRecord
from protocols import REGISTRY, ListSink
from protocols.scan import CLASSES, fault_classes
from sim_instruments import Crossbar, NonIdealities, RRAMArray
from sim_instruments.presets import STANFORD_V1
from tests.protocols.simaccess import SimAccess

ROWS, COLS = 8, 12


def _chip(seed: int = 3) -> SimAccess:
    """The embedded bench's device (small c2c noise) with 10 % stuck-ON and 10 % stuck-OFF cells."""
    access = SimAccess(ROWS, COLS)
    params = dataclasses.replace(STANFORD_V1, delta_g0=2e-5)
    ni = NonIdealities(d2d=0.05, c2c=True, c2c_switching_only=True, read_noise=0.01, stuck_on=0.1, stuck_off=0.1)
    access.xbar = Crossbar(RRAMArray((ROWS, COLS), params, seed=seed, nonideal=ni))
    return access


def _truth(access: SimAccess) -> np.ndarray:
    arr = access.xbar.array
    out = np.full((ROWS, COLS), "working", dtype="<U9")
    out[np.asarray(arr.stuck_on)] = "stuck_on"
    out[np.asarray(arr.stuck_off)] = "stuck_off"
    return out


async def test_scan_classifies_every_cell_like_the_chip_within_the_clamp() -> None:
    access = _chip()
    spec = REGISTRY["scan"]
    sink = ListSink()
    summary = await spec.run(access, spec.parse({"parallel": 4}), sink)
    (m,) = sink.of(MapRecord)
    classes = fault_classes(m.extra["fault_class"])
    truth = _truth(access)
    assert (truth == "stuck_on").sum() > 3
    assert (truth == "stuck_off").sum() > 3
    assert (classes == truth).all()
    assert summary == {"cells": ROWS * COLS, **{c: int((truth == c).sum()) for c in CLASSES}}
    assert (m.extra["switched"].astype(bool) == (truth == "working")).all()
    assert len(sink.of(CellOutcome)) == ROWS * COLS
    assert {r.kind for r in sink.of(ReadRecord)} == {"scan"}
    assert max(abs(r.volts) for r in sink.of(ReadRecord)) <= access.limits.read_clamp
    assert max(abs(p.volts) for p in sink.of(PulseRecord)) <= 1.8
    assert access.xbar.peak_read_voltage.max() <= access.limits.read_clamp + 1e-12
    (res,) = [r for r in sink.of(ResultRecord) if r.name == "scan"]
    assert res.data["counts"]["stuck_on"] == int((truth == "stuck_on").sum())
    # working cells found ON leave ON (the SET), found OFF leave OFF (the restore)
    g_end = np.asarray(access.xbar.array.conductance(0.1))
    work = truth == "working"
    found_on = m.conductance >= 200e-6
    assert (g_end[work & found_on] > 200e-6).all()
    assert (g_end[work & ~found_on] < 200e-6).all()


async def test_scan_resume_never_pulses_classified_cells_again() -> None:
    access = _chip(seed=4)
    spec = REGISTRY["scan"]
    first = ListSink()
    params = spec.parse({"region": (0, 4, 0, COLS)})
    await spec.run(access, params, first)
    resume = {(o.row, o.col): o for o in first.of(CellOutcome)}
    access.pulsed[:] = 0
    sink = ListSink()
    await spec.run(access, spec.parse({}), sink, resume=resume)
    assert access.pulsed[:4].sum() == 0
    assert (access.pulsed[4:] > 0).all()
    (m,) = sink.of(MapRecord)
    assert (fault_classes(m.extra["fault_class"]) == _truth(access)).all()
    assert len(sink.of(CellOutcome)) == (ROWS - 4) * COLS


async def test_scan_set_reset_parks_every_working_cell_off_and_classifies_alike() -> None:
    access = _chip()
    spec = REGISTRY["scan"]
    sink = ListSink()
    await spec.run(access, spec.parse({"order": "set_reset", "read_found": False, "restore": False}), sink)
    (m,) = sink.of(MapRecord)
    truth = _truth(access)
    assert (fault_classes(m.extra["fault_class"]) == truth).all()
    g_end = np.asarray(access.xbar.array.conductance(0.1))
    work = truth == "working"
    assert (g_end[work] < 50e-6).all()  # parked in HRS (fresh cells read ~1.8 mS)
    assert (g_end[truth == "stuck_on"] > 500e-6).all()
    # each cell's outcome records where it stays: its last read, after the RESET
    outcomes = {(o.row, o.col): o for o in sink.of(CellOutcome)}
    assert all(o.target == m.extra["g_reset"][r, c] for (r, c), o in outcomes.items())
    # the SET came first: per cell, the first pulse is positive and the last negative
    pulses = [p for p in sink.of(PulseRecord) if (p.row, p.col) == (0, 0)]
    assert pulses[0].volts > 0 > pulses[-1].volts


def test_scan_order_refuses_an_unknown_order() -> None:
    import pytest

    from labctl.core.errors import ConfigError

    with pytest.raises(ConfigError, match="order"):
        REGISTRY["scan"].parse({"order": "sideways"})

