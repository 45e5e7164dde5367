"""run_protocol over an open test bench (SimAccess crossbars): journal, cancellation, resume, no garbage.

The end-to-end versions through ``labctl.bench.open_bench`` are in test_protocol_run_bench.py.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from labctl.analysis import pulses_after
from labctl.core import ConfigError, Progress
from labctl.jobs.protocol_run import run_protocol
from labctl.store import RunStore
from tests.protocols.simaccess import SimAccess


class FakeBench:
    def __init__(self, access: SimAccess) -> None:
        self.crossbars = {"xbar0": access}
        self.safe_calls = 0
        orig = access.safe_state

        async def safe() -> None:
            self.safe_calls += 1
            await orig()

        access.safe_state = safe  # type: ignore[method-assign]

    async def snapshot(self) -> dict[str, Any]:
        return {"fake": True}


def _entries(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir()) if path.exists() else []


PARAMS = {"random_levels": 4, "seed": 2, "parallel": 4}


async def test_run_journal_and_summary(tmp_path: Path) -> None:
    bench = FakeBench(SimAccess(4, 8, seed=1))
    seen: list[Progress] = []
    res = await run_protocol(None, "program", PARAMS, store_root=tmp_path, bench=bench, on_progress=seen.append)
    store = RunStore(tmp_path)
    info = store.get_run(str(res.run_id))
    assert info.status == "completed"
    assert info.snapshot == {"bench": {"fake": True}, "crossbar": "xbar0"}
    assert info.params == PARAMS
    assert res.summary["converged"] == 32
    assert seen[-1].done == seen[-1].total == 32
    assert bench.safe_calls == 1
    m = store.load_map(info.id)
    assert (m.status == "converged").all()


async def test_bad_params_and_unknown_crossbar_leave_nothing(tmp_path: Path) -> None:
    bench = FakeBench(SimAccess(2, 2))
    with pytest.raises(ConfigError, match="rel_tol"):
        await run_protocol(None, "program", {"random_levels": 2, "rel_tol": 9}, store_root=tmp_path, bench=bench)
    with pytest.raises(ConfigError, match="protocol"):
        await run_protocol(None, "nope", {}, store_root=tmp_path, bench=bench)
    with pytest.raises(ConfigError, match="crossbar"):
        await run_protocol(None, "program", PARAMS, store_root=tmp_path, bench=bench, crossbar="xbar9")
    with pytest.raises(ConfigError, match="read_voltage"):
        await run_protocol(None, "program", {**PARAMS, "read_voltage": 0.9}, store_root=tmp_path, bench=bench)
    assert _entries(tmp_path) == []


async def test_cancel_then_resume_never_repulses_verified_cells(tmp_path: Path) -> None:
    access = SimAccess(6, 8, seed=3)
    bench = FakeBench(access)
    started: list[str] = []
    progress: list[Progress] = []

    def on_progress(p: Progress) -> None:
        progress.append(p)
        if p.done >= 20 and not task.done():
            task.cancel()

    task = asyncio.ensure_future(run_protocol(None, "program", PARAMS, store_root=tmp_path, bench=bench,
                                              on_progress=on_progress, on_run=started.append))
    with pytest.raises(asyncio.CancelledError):
        await task
    store = RunStore(tmp_path)
    (rid,) = started
    assert store.get_run(rid).status == "cancelled"
    assert bench.safe_calls == 1
    done = store.outcomes(rid)
    assert 20 <= len(done) < 48
    res = await run_protocol(None, None, None, store_root=tmp_path, bench=bench, resume=rid)
    assert res.status == "completed"
    assert store.get_run(rid).attempts == 2
    assert len(store.outcomes(rid)) == 48
    ev = store.event_arrays(rid)
    assert pulses_after(ev, done, attempt=2) == {}
    reads2 = {(r, c) for r, c, t, a in zip(ev["row"], ev["col"], ev["type"], ev["attempt"], strict=True)
              if t == "read" and a == 2}
    assert not reads2 & set(done)
    m = store.load_map(rid)
    assert np.isfinite(m.conductance).all()


async def test_resume_refuses_other_params_or_protocol(tmp_path: Path) -> None:
    bench = FakeBench(SimAccess(2, 2))
    res = await run_protocol(None, "read_map", {"repeats": 2}, store_root=tmp_path, bench=bench)
    with pytest.raises(ConfigError, match="resumable"):
        await run_protocol(None, None, None, store_root=tmp_path, bench=bench, resume=res.run_id)
    res = await run_protocol(None, "program", {"random_levels": 2}, store_root=tmp_path, bench=bench)
    with pytest.raises(ConfigError, match="params"):
        await run_protocol(None, None, {"random_levels": 3}, store_root=tmp_path, bench=bench, resume=res.run_id)
    with pytest.raises(ConfigError, match="protocol"):
        await run_protocol(None, "forming", None, store_root=tmp_path, bench=bench, resume=res.run_id)
