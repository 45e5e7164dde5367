"""The polled reads served from the answer cache: the same bytes and headers as the route, never stale, behind
the token guard (a real uvicorn server on loopback, the real simulated bench)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from labctl.service.answers import AnswerCache
from tests.service.harness import Running, program_job, serve, wait_state

pytestmark = pytest.mark.asyncio(loop_scope="module")
TOKEN = "fast-reads-token-0123456789"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def svc(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Running]:
    async with serve(tmp_path_factory.mktemp("store"), benches=("a",), token=TOKEN) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def client(svc: Running) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=svc.url, timeout=30,
                                 headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        yield c


async def test_cache_entries_hold_only_under_their_key() -> None:
    cache = AnswerCache(size=2)
    cache.put("a", (1, 1), b"A")
    assert cache.get("a", (1, 1)) == b"A"
    assert cache.get("a", (2, 1)) is None  # the state moved on
    cache.put("b", 1, b"B")
    cache.get("a", (1, 1))  # a used last: b is the oldest
    cache.put("c", 1, b"C")
    assert len(cache) == 2
    assert cache.get("b", 1) is None
    assert cache.get("a", (1, 1)) == b"A"
    with pytest.raises(ValueError, match="size"):
        AnswerCache(size=0)


async def _both(client: httpx.AsyncClient, path: str) -> tuple[httpx.Response, httpx.Response]:
    """The answer twice: from the cache (a plain GET, asked twice so the second is served from it) and from the
    route (a query string always goes to the route)."""
    await client.get(path)
    return await client.get(path), await client.get(path, params={"via": "route"})


async def test_cached_answer_is_the_routes_answer(svc: Running, client: httpx.AsyncClient) -> None:
    job = (await client.post("/jobs", json=program_job("a", 2, 2))).json()
    await wait_state(client, job["id"], {"succeeded"})
    for path in ("/status", f"/jobs/{job['id']}"):
        hits = svc.state.answers.hits
        cached, routed = await _both(client, path)
        assert svc.state.answers.hits > hits, path  # the plain GET was served from the cache
        assert cached.status_code == routed.status_code == 200
        assert cached.content == routed.content, path
        assert cached.headers["content-type"] == routed.headers["content-type"] == "application/json"
        assert cached.headers["content-length"] == routed.headers["content-length"]
    assert (await client.get(f"/jobs/{job['id'][:6]}")).json()["id"] == job["id"]  # a prefix still resolves
    assert (await client.get("/jobs/0123456789ff")).status_code == 404


async def test_cached_answers_follow_every_change(client: httpx.AsyncClient) -> None:
    """Polled while jobs queue, run and finish: the queue length and the progress move with the state."""
    assert (await client.get("/status")).json()["lanes"]["a"] == 0
    running = (await client.post("/jobs", json=program_job("a", 6, 6))).json()
    queued = (await client.post("/jobs", json=program_job("a", 2, 2))).json()
    assert (await client.get("/status")).json()["lanes"]["a"] >= 1  # no stale answer after a submission
    assert (await client.get(f"/jobs/{queued['id']}")).json()["state"] == "queued"
    dones = []
    deadline = time.monotonic() + 120  # a stale answer would never show the end
    while time.monotonic() < deadline:
        view = (await client.get(f"/jobs/{running['id']}")).json()
        if view["progress"] is not None:
            dones.append(view["progress"]["done"])
        if view["state"] not in ("queued", "running"):
            break
        await asyncio.sleep(0.01)
    assert view["state"] == "succeeded"
    assert view["progress"]["done"] == view["progress"]["total"] == 36
    assert dones == sorted(dones), dones  # never backwards
    assert len(set(dones)) > 2, dones  # seen moving
    assert (await wait_state(client, queued["id"], {"succeeded"}))["progress"]["done"] == 4
    assert (await client.get("/status")).json()["lanes"]["a"] == 0  # the second job left the queue


async def test_cache_sits_behind_the_token(svc: Running, client: httpx.AsyncClient) -> None:
    await client.get("/status")
    await client.get("/status")  # warm: the next answer would come from the cache
    async with httpx.AsyncClient(base_url=svc.url, timeout=30) as anonymous:
        r = await anonymous.get("/status")
        assert r.status_code == 401, r.text
        jobs = (await client.get("/jobs")).json()["jobs"]
        assert jobs
        assert (await anonymous.get(f"/jobs/{jobs[0]['id']}")).status_code == 401


async def test_head_answers_every_get_route(client: httpx.AsyncClient) -> None:
    """HEAD: the GET's status and headers, no content; every method a 405's Allow names is answered."""
    job = (await client.post("/jobs", json=program_job("a", 2, 2))).json()
    await wait_state(client, job["id"], {"succeeded"})
    for path in ("/status", f"/jobs/{job['id']}", "/jobs", "/benches"):
        get, head = await client.get(path), await client.head(path)
        assert head.status_code == get.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-length"] == get.headers["content-length"], path
    events = await client.head(f"/jobs/{job['id']}/events")  # a stream: its headers, then the end
    assert events.status_code == 200
    assert events.headers["content-type"].startswith("text/event-stream")
    assert (await client.head("/jobs/0123456789ff")).status_code == 404
    r = await client.delete("/jobs")
    assert r.status_code == 405
    allowed = set(r.headers["allow"].replace(" ", "").split(","))
    assert allowed == {"GET", "HEAD", "POST"}
    for method in allowed - {"POST"}:
        assert (await client.request(method, "/jobs")).status_code == 200, method
