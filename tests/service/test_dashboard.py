"""The dashboard in a real headless Chromium (DevTools protocol over a loopback websocket) against the real service.

Submit a 64x64 programming job from the form, watch its map fill in (lag behind the journal measured from the
cells' journal time stamps), cancel it and see the bench in its safe state; a bad parameter shows the field's
error; with a token the page is refused until the token is entered; the page survives a service restart and
shows the job as resumed. Screenshots of every page at 1280 px go to ``test-artifacts/dashboard/`` (or
``$LABCTL_TEST_ARTIFACTS``) with ``figures.json`` (load times, lag); every page is checked for horizontal overflow.

Chromium: the Debian package ``chromium`` (``LABCTL_CHROMIUM`` overrides); without it these tests skip.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn

from labctl.service import BenchEntry, ServiceConfig, create_app
from tests.service.cdp import Browser, Page, find_chromium
from tests.service.harness import Running, free_port, program_job, serve, wait_state

CHROME = find_chromium()
pytestmark = [
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.skipif(CHROME is None, reason="headless Chromium not installed (Debian package 'chromium'; "
                                              "scripts/bootstrap.sh installs it as root)"),
]
ART = Path(os.environ.get("LABCTL_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))
ART = ART / "dashboard"
TOKEN = "dashboard-test-token-0123456789"
FIGURES: dict[str, Any] = {}

# the layout check: nothing wider than the 1280 px viewport, no element sticking out of it
OVERFLOW_JS = """(() => {
  const W = document.documentElement.clientWidth, out = [];
  if (document.documentElement.scrollWidth > W) out.push('document ' + document.documentElement.scrollWidth);
  for (const e of document.querySelectorAll('body *')) {
    const r = e.getBoundingClientRect();
    if (r.width && r.right > W + 0.5) out.push(e.tagName + '.' + e.className + ' right=' + Math.round(r.right));
  }
  return out.slice(0, 10);
})()"""


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Browser]:
    assert CHROME is not None
    print(f"\n[dashboard tests] headless Chromium {CHROME} over its DevTools protocol; screenshots in {ART}")
    async with Browser.launch(CHROME, tmp_path_factory.mktemp("chromium")) as b:
        yield b
    ART.mkdir(parents=True, exist_ok=True)
    out = ART / "figures.json"  # merged: under xdist the module's tests may run in two workers
    old = json.loads(out.read_text()) if out.exists() and out.stat().st_mtime > time.time() - 600 else {}
    out.write_text(json.dumps({**old, "load_avg": os.getloadavg(), **FIGURES}, indent=1))


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def svc(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Running]:
    async with serve(tmp_path_factory.mktemp("store"), benches=("sim",)) as running:
        yield running


async def _ready(page: Page, name: str, timeout: float = 30) -> float:  # noqa: ASYNC109
    """Wait for the page to render its data; the time from navigation start, ms."""
    await page.wait_for(f"document.body.dataset.ready === {json.dumps(name)}", timeout)
    ms: float = await page.eval("window.labctlReady.ms")
    return ms


async def _shot(page: Page, name: str) -> None:
    overflow = await page.eval(OVERFLOW_JS)
    await page.screenshot(ART / f"{name}.png")
    assert overflow == [], f"{name}: content wider than the 1280 px viewport: {overflow}"
    assert await page.eval("document.documentElement.clientWidth") == 1280


async def _fill(page: Page, name: str, value: str) -> None:
    await page.eval(f"(() => {{ const i = document.querySelector('[name={name}]'); i.value = {json.dumps(value)};"
                    "i.dispatchEvent(new Event('input', {bubbles: true})); })()")


async def _stat(page: Page, name: str) -> str:
    text: str = await page.eval(f"document.querySelector('.stat[data-stat=\"{name}\"] b').textContent")
    return text


async def test_submit_watch_cancel_then_bench_safe(svc: Running, browser: Browser) -> None:
    page = await browser.new_page()
    await page.goto(f"{svc.url}/#/submit")
    await _ready(page, "submit")
    assert await page.eval("document.querySelector('[name=protocol]').value") == "program"
    help_text = await page.eval("document.querySelector('[data-field=read_voltage]').textContent")
    assert "[V]" in help_text
    assert "range > 0, ≤ 1" in help_text
    await _fill(page, "random_levels", "4")
    await _fill(page, "shape", "64, 64")
    await _shot(page, "submit")
    await page.eval("document.getElementById('submit-job').click()")
    job_id = (await page.wait_for("location.hash.startsWith('#/jobs/') && location.hash.slice(7)"))
    await _ready(page, "job")
    # the map fills in cell by cell from the cells events; lag = paint time - journal commit time
    await page.wait_for("window.labctlLive.lags.length >= 60", 60)
    await _shot(page, "job-live")
    await page.eval("document.querySelector('button.cancel').click()")
    await page.wait_for("document.getElementById('confirm-dialog').open")
    await _shot(page, "job-cancel-confirm")
    await page.eval("document.getElementById('confirm-yes').click()")
    await page.wait_for("!!document.querySelector('.job-state[data-state=cancelled]')", 30)

    lags = await page.eval("window.labctlLive.lags")
    async with httpx.AsyncClient(base_url=svc.url, timeout=30) as c:
        job = (await c.get(f"/jobs/{job_id}")).json()
        journal = (await c.get(f"/runs/{job['run_id']}/cells")).json()["cells"]
    assert job["state"] == "cancelled"
    assert 0 < len(journal) < 4096
    # every cell the journal holds is on the map, and nothing else
    await page.wait_for(f"document.querySelector('.stat[data-stat=\"cells done\"] b').textContent === "
                        f"'{len(journal)}'", 10)
    painted = await page.eval("window.labctlLive.painted")
    assert painted >= len(journal)
    converged = sum(c["status"] == "converged" for c in journal)
    assert await _stat(page, "converged") == str(converged)
    FIGURES["live_map_lag_s"] = {"cells": len(lags), "median": statistics.median(lags), "max": max(lags),
                                 "p95": sorted(lags)[int(0.95 * (len(lags) - 1))]}
    assert max(lags) <= 1.0, FIGURES["live_map_lag_s"]
    assert min(lags) >= -0.05, "journal time stamps ahead of the browser clock"
    await _shot(page, "job-cancelled")

    # the bench page shows the bench in its safe state (asked over the instruments' links)
    await page.goto(f"{svc.url}/#/benches")
    await _ready(page, "benches")
    assert await page.eval("document.querySelector('[data-bench=sim]').dataset.safe") == "yes"
    text = await page.eval("document.querySelector('[data-bench=sim]').textContent")
    assert "safe state: outputs off, relays open" in text
    assert "after: service: job cancelled" in text
    assert "ON" not in await page.eval("[...document.querySelectorAll('[data-bench=sim] .chips')]"
                                       ".map(e => e.textContent).join(' ')")
    await _shot(page, "benches")
    assert page.errors == []


async def test_bad_parameter_shows_the_fields_error(svc: Running, browser: Browser) -> None:
    page = await browser.new_page()
    await page.goto(f"{svc.url}/#/submit")
    await _ready(page, "submit")
    await _fill(page, "random_levels", "4")
    await _fill(page, "rel_tol", "5")
    await page.eval("document.getElementById('submit-job').click()")
    err = await page.wait_for("document.querySelector('[data-error-for=rel_tol]').textContent")
    assert "less than or equal to 0.5" in err
    assert "got 5" in err
    assert await page.eval("document.querySelector('[data-field=rel_tol]').classList.contains('invalid')")
    assert await page.eval("document.querySelector('[data-error-for=random_levels]').textContent") == ""
    assert await page.eval("location.hash") == "#/submit"  # nothing was submitted
    await _shot(page, "submit-422")
    # a model-level rule (exactly one of targets / random_levels) has no single field: shown on the form
    await _fill(page, "rel_tol", "")
    await _fill(page, "random_levels", "")
    await page.eval("document.getElementById('submit-job').click()")
    form_err = await page.wait_for("document.querySelector('.form-error').textContent")
    assert "exactly one of" in form_err
    assert page.errors == []


async def test_every_page_fits_and_loads_fast(svc: Running, browser: Browser) -> None:
    async with httpx.AsyncClient(base_url=svc.url, timeout=30) as c:
        job = (await c.post("/jobs", json=program_job("sim", 8, 8))).json()
        done = await wait_state(c, job["id"], {"succeeded", "failed"})
    assert done["state"] == "succeeded"
    page = await browser.new_page()
    pages = {"benches": "#/benches", "jobs": "#/jobs", "job": f"#/jobs/{job['id']}", "runs": "#/runs",
             "run": f"#/runs/{done['run_id']}", "submit": "#/submit"}
    loads: dict[str, list[float]] = {}
    for name, frag in pages.items():
        for _ in range(3):  # a fresh document each time: navigation start -> the page's data rendered
            await page.goto("about:blank")
            await page.goto(f"{svc.url}/{frag}")
            loads.setdefault(name, []).append(await _ready(page, name))
        await asyncio.sleep(0.3)  # let histograms and tables settle before the picture
        await _shot(page, f"page-{name}")
        if name == "run":  # the measured-vs-trained report, fetched with the header, shown in a sandboxed frame
            await page.eval("[...document.querySelectorAll('button')].find(b => b.textContent.includes('report'))"
                            ".click()")
            await page.wait_for("!!document.querySelector('iframe.report')")
            await asyncio.sleep(0.5)
            await _shot(page, "page-run-report")
    FIGURES["page_load_ms"] = {k: {"best": min(v), "median": statistics.median(v)} for k, v in loads.items()}
    assert page.errors == []
    slow = {k: v for k, v in FIGURES["page_load_ms"].items() if v["best"] >= 300}
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if slow and load > 2 * cores:
        # a time measured on a machine this oversubscribed says how busy it is, not how fast the page is
        pytest.skip(f"page loads not asserted: load average {load:.1f} on {cores} cores (> 2 per core); "
                    f"measured best of 3 (ms): { {k: round(v['best']) for k, v in FIGURES['page_load_ms'].items()} }")
    assert not slow, f"pages slower than 300 ms on loopback: {slow} (load {load:.1f} on {cores} cores)"


async def test_token_refused_until_entered(tmp_path: Path, browser: Browser) -> None:
    async with serve(tmp_path / "store", benches=("sim",), token=TOKEN) as tsvc:
        page = await browser.new_page()
        await page.goto(f"{tsvc.url}/#/benches")
        await page.wait_for("document.getElementById('token-dialog').open")
        assert "Refused" in await page.eval("document.getElementById('banner').textContent")
        assert await page.eval("document.querySelectorAll('[data-bench]').length") == 0
        await _shot(page, "token-refused")
        # a wrong token is refused too, and said so
        await page.eval(f"document.getElementById('token-input').value = {json.dumps('x' * 20)}; "
                        "document.getElementById('token-save').click()")
        await page.wait_for("document.getElementById('token-error').textContent.includes('refused')")
        await page.eval(f"document.getElementById('token-input').value = {json.dumps(TOKEN)}; "
                        "document.getElementById('token-save').click()")
        await page.wait_for("document.querySelectorAll('[data-bench=sim]').length === 1", 30)
        # once per browser session: a reload keeps working without asking again
        await page.goto(f"{tsvc.url}/#/jobs")
        await _ready(page, "jobs")
        assert not await page.eval("document.getElementById('token-dialog').open")
        # an export: fetched with the header, handed to the browser as a download
        async with httpx.AsyncClient(base_url=tsvc.url, timeout=30,
                                     headers={"Authorization": f"Bearer {TOKEN}"}) as c:
            job = (await c.post("/jobs", json=program_job("sim", 2, 2))).json()
            run_id = (await wait_state(c, job["id"], {"succeeded"}))["run_id"]
        downloads = tmp_path / "downloads"
        await browser.send("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
        await page.goto(f"{tsvc.url}/#/runs/{run_id}")
        await _ready(page, "run")
        await page.eval("document.querySelector('button[data-fmt=npz]').click()")
        deadline = time.monotonic() + 20
        while not list(downloads.glob("*.npz")) and time.monotonic() < deadline:  # noqa: ASYNC110 (a file)
            await asyncio.sleep(0.1)
        assert [p.name for p in downloads.glob("*.npz")] == [f"{run_id}.npz"]
        api_calls = [r for r in page.requests if r["url"].startswith((tsvc.url + "/jobs", tsvc.url + "/runs"))]
        assert any("/export?fmt=npz" in r["url"] for r in api_calls)
        assert all(r["headers"].get("Authorization") == f"Bearer {TOKEN}" for r in api_calls)
        assert not [r["url"] for r in page.requests if TOKEN in r["url"]], "the token must never be in a URL"


@asynccontextmanager
async def _serve_on(store: Path, port: int) -> AsyncIterator[str]:
    """The service on a given port (so a restart comes back where the page expects it); quick shutdown."""
    app = create_app(ServiceConfig(benches=[BenchEntry(name="sim")]), store)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                                           ws="none", timeout_graceful_shutdown=1))
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 60
    while not server.started:
        if task.done():
            task.result()
        assert time.monotonic() < deadline, "server did not start"
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        # longer than the service's own 30 s wait for its bench worker, which kills a worker that does not stop
        # (on a loaded machine a worker can take that long): the test must not give up first
        await asyncio.wait_for(task, 75)


async def test_page_survives_a_service_restart(tmp_path: Path, browser: Browser) -> None:
    store, port = tmp_path / "store", free_port()
    page = await browser.new_page()
    async with _serve_on(store, port) as url, httpx.AsyncClient(base_url=url, timeout=30) as c:
        job = (await c.post("/jobs", json=program_job("sim", 24, 24))).json()
        await page.goto(f"{url}/#/jobs/{job['id']}")
        await _ready(page, "job")
        await page.wait_for("window.labctlLive.painted >= 10", 60)
    # the service is gone (the job goes back to the queue): the page says so plainly
    await page.wait_for("!document.getElementById('banner').hidden", 15)
    banner = await page.eval("document.getElementById('banner').textContent")
    assert "unreachable" in banner
    await _shot(page, "service-unreachable")
    async with _serve_on(store, port) as url, httpx.AsyncClient(base_url=url, timeout=30) as c:
        await page.wait_for("document.getElementById('banner').hidden", 15)
        await page.wait_for("!!document.querySelector('.resumed')", 30)
        assert "attempt 2" in await page.eval("document.querySelector('.resumed').textContent")
        await page.wait_for("!!document.querySelector('.job-state[data-state=succeeded]')", 90)
        await page.wait_for("document.querySelector('.stat[data-stat=\"cells done\"] b').textContent === '576'", 10)
        final = (await c.get(f"/jobs/{job['id']}")).json()
        assert final["attempts"] == 2
        await _shot(page, "job-resumed")
    assert page.errors == []
