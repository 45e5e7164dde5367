"""The dashboard's API over HTTP (no browser): the live cell stream, the journal's cells, the report; the hub's log."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from labctl.service.hub import CELL_BATCH, Channel
from tests.service.harness import program_job, serve, sse, wait_state


def _live(client: httpx.AsyncClient, job_id: str, cells_from: int = 0) -> AsyncIterator[tuple[str, Any]]:
    return sse(client, job_id, "live", {"cells_from": cells_from})


async def test_live_cells_match_the_journal(tmp_path: Any) -> None:
    async with serve(tmp_path, benches=("a",)) as svc, httpx.AsyncClient(base_url=svc.url, timeout=30) as c:
        t0 = time.time()
        job = (await c.post("/jobs", json=program_job("a", 4, 5))).json()
        streamed: list[list[Any]] = []
        offsets: list[int] = []
        states = []
        async for event, data in _live(c, job["id"]):
            if event == "cells":
                assert data["offset"] == len(streamed), "cells arrive in order, none skipped"
                offsets.append(data["offset"])
                streamed += data["cells"]
            elif event == "state":
                states.append(data["state"])
        assert states[-1] == "succeeded"
        done = (await c.get(f"/jobs/{job['id']}")).json()
        journal = (await c.get(f"/runs/{done['run_id']}/cells")).json()["cells"]
        assert len(streamed) == len(journal) == 20
        by_cell = {(j["row"], j["col"]): j for j in journal}
        for row, col, status, g, target, pulses, t in streamed:
            j = by_cell[(row, col)]
            assert (status, target, pulses) == (j["status"], j["target"], j["pulses"])
            assert g == pytest.approx(j["conductance"])
            assert j["attempt"] == 1
            assert t0 <= t <= time.time()
        stamps = [s[-1] for s in streamed]
        assert stamps == sorted(stamps)
        # from an offset: the rest of the log only; the plain /events stream carries no cells
        later = [d for e, d in [x async for x in _live(c, job["id"], cells_from=15)] if e == "cells"]
        assert [cell for d in later for cell in d["cells"]] == streamed[15:]
        plain = [e async for e, _ in sse(c, job["id"])]
        assert "cells" not in plain
        assert plain[-1] == "state"

        report = await c.get(f"/runs/{done['run_id']}/report")
        assert report.status_code == 200
        assert report.headers["content-type"].startswith("text/html")
        assert "<script" not in report.text.lower()
        assert done["run_id"] in report.text

        # a cancelled program run has no final map: no report, said so with 409
        job2 = (await c.post("/jobs", json=program_job("a", 16, 16))).json()
        async for event, data in _live(c, job2["id"]):
            if event == "cells" and data["offset"] + len(data["cells"]) >= 3:
                break
        cancelled = (await c.post(f"/jobs/{job2['id']}/cancel")).json()
        assert cancelled["state"] == "cancelled"
        r = await c.get(f"/runs/{cancelled['run_id']}/report")
        assert r.status_code == 409
        assert "no report" in r.json()["detail"]
        assert len((await c.get(f"/runs/{cancelled['run_id']}/cells")).json()["cells"]) >= 3
        assert (await c.get("/runs/nosuchrun/cells")).status_code == 404
        assert (await c.get("/jobs/0123456789ab/live")).status_code == 404
        await wait_state(c, job2["id"], {"cancelled"})


async def test_cell_log_is_never_skipped_and_leaves_plain_subscribers_alone() -> None:
    ch = Channel()
    plain: list[str] = []
    cells: list[list[Any]] = []

    async def watch_plain() -> None:
        async for item in ch.subscribe(keepalive=5):
            if item is not None:
                plain.append(item[0])

    async def watch_cells() -> None:
        async for item in ch.subscribe(keepalive=5, cells_from=0):
            if item is not None and item[0] == "cells":
                assert item[1]["offset"] == len(cells)
                assert len(item[1]["cells"]) <= CELL_BATCH
                cells.extend(item[1]["cells"])
                await asyncio.sleep(0.01)  # a slow reader

    tasks = [asyncio.create_task(watch_plain()), asyncio.create_task(watch_cells())]
    ch.publish("state", {"state": "running"})
    await asyncio.sleep(0.01)
    for i in range(3000):
        ch.append_cell([i // 64, i % 64, "converged", 1e-5, 1e-5, 3, float(i)])
        if i % 500 == 0:
            await asyncio.sleep(0)
    ch.publish("state", {"state": "succeeded"}, close=True)
    await asyncio.wait_for(asyncio.gather(*tasks), 10)
    assert [c[-1] for c in cells] == [float(i) for i in range(3000)]
    assert plain == ["state", "state"]  # 3000 cell appends did not wake it into re-sending anything
