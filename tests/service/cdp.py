"""Headless Chromium driven over its DevTools protocol (a websocket on loopback), for the dashboard's browser tests.

Chromium is the Debian package ``chromium`` (``LABCTL_CHROMIUM`` overrides the binary); the websocket client is
the ``websockets`` package (dev extra). ``Browser.launch`` starts it with ``--remote-debugging-port=0`` and reads
the DevTools address from its stderr; ``Page`` wraps one tab: navigate, evaluate JavaScript, wait for a
condition, screenshot. Nothing here talks to anything but 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import re
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--no-default-browser-check",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
         "--disable-features=Translate,MediaRouter,OptimizationHints", "--password-store=basic", "--mute-audio",
         "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--hide-scrollbars"]


def find_chromium() -> str | None:
    for c in (os.environ.get("LABCTL_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium",
              shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if c and Path(c).exists():
            return c
    return None


class CDPError(RuntimeError):
    pass


class Browser:
    """One Chromium process and its browser-level DevTools connection."""

    def __init__(self, proc: asyncio.subprocess.Process, ws: Any) -> None:
        self.proc, self.ws = proc, ws
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._listeners: list[Callable[[str | None, str, dict[str, Any]], None]] = []
        self._reader = asyncio.create_task(self._read())

    @classmethod
    @contextlib.asynccontextmanager
    async def launch(cls, chrome: str, profile: Path) -> AsyncIterator[Browser]:
        import websockets

        proc = await asyncio.create_subprocess_exec(
            chrome, *FLAGS, f"--user-data-dir={profile}", "about:blank",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
        assert proc.stderr is not None
        try:
            url = None
            async with asyncio.timeout(30):
                while url is None:
                    line = (await proc.stderr.readline()).decode(errors="replace")
                    if not line:
                        raise CDPError("chromium exited before it opened its DevTools port")
                    m = re.search(r"DevTools listening on (ws://\S+)", line)
                    url = m.group(1) if m else None
            drain = asyncio.create_task(_drain(proc.stderr))
            async with websockets.connect(url, max_size=None, ping_interval=None) as ws:
                browser = cls(proc, ws)
                try:
                    yield browser
                finally:
                    browser._reader.cancel()
            drain.cancel()
        finally:
            if proc.returncode is None:
                proc.terminate()
                try:
                    await asyncio.wait_for(proc.wait(), 10)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()

    async def _read(self) -> None:
        async for raw in self.ws:
            msg = json.loads(raw)
            if "id" in msg:
                fut = self._pending.pop(msg["id"], None)
                if fut is not None and not fut.done():
                    if "error" in msg:
                        fut.set_exception(CDPError(f"{msg['error'].get('message')}: {msg['error'].get('data', '')}"))
                    else:
                        fut.set_result(msg.get("result", {}))
            else:
                for fn in list(self._listeners):
                    fn(msg.get("sessionId"), msg["method"], msg.get("params", {}))

    async def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> Any:
        i = next(self._ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[i] = fut
        msg: dict[str, Any] = {"id": i, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        await self.ws.send(json.dumps(msg))
        return await asyncio.wait_for(fut, 60)

    async def new_page(self, width: int = 1280, height: int = 900) -> Page:
        target = (await self.send("Target.createTarget", {"url": "about:blank"}))["targetId"]
        session = (await self.send("Target.attachToTarget", {"targetId": target, "flatten": True}))["sessionId"]
        page = Page(self, session, target)
        self._listeners.append(page._on_event)
        for domain in ("Page", "Runtime", "Network"):
            await page.send(f"{domain}.enable")
        await page.send("Emulation.setDeviceMetricsOverride",
                        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        return page


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.readline():
        pass


class Page:
    """One tab: its DevTools session, the requests it made and the errors its scripts raised."""

    def __init__(self, browser: Browser, session: str, target: str) -> None:
        self.browser, self.session, self.target = browser, session, target
        self.requests: list[dict[str, Any]] = []  # url and headers of every request
        self.errors: list[str] = []  # uncaught exceptions and console errors
        self._load = asyncio.Event()

    def _on_event(self, session: str | None, method: str, params: dict[str, Any]) -> None:
        if session != self.session:
            return
        if method == "Network.requestWillBeSent":
            req = params["request"]
            self.requests.append({"url": req["url"], "headers": req.get("headers", {})})
        elif method == "Runtime.exceptionThrown":
            d = params["exceptionDetails"]
            self.errors.append(str(d.get("exception", {}).get("description") or d.get("text")))
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            self.errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))
        elif method == "Page.loadEventFired":
            self._load.set()

    async def send(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return await self.browser.send(method, params, self.session)

    async def goto(self, url: str, timeout: float = 30) -> None:  # noqa: ASYNC109
        """Navigate; wait for the load event unless only the fragment changed (same document)."""
        self._load.clear()
        res = await self.send("Page.navigate", {"url": url})
        if res.get("errorText"):
            raise CDPError(f"navigation to {url} failed: {res['errorText']}")
        if res.get("loaderId"):
            await asyncio.wait_for(self._load.wait(), timeout)

    async def eval(self, expression: str) -> Any:
        """Evaluate JavaScript (promises awaited) and return its value as JSON."""
        res = await self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                   "returnByValue": True, "userGesture": True})
        if "exceptionDetails" in res:
            d = res["exceptionDetails"]
            raise CDPError(f"{expression[:80]!r}: {d.get('exception', {}).get('description') or d.get('text')}")
        return res["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 20, interval: float = 0.05) -> Any:  # noqa: ASYNC109
        """Poll ``expression`` until it is truthy; return its value."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = await self.eval(expression)
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"not true after {timeout} s: {expression}")
            await asyncio.sleep(interval)

    async def screenshot(self, path: Path, full_page: bool = True) -> Path:
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": full_page}
        if full_page:
            metrics = await self.send("Page.getLayoutMetrics")
            size = metrics["cssContentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        data = (await self.send("Page.captureScreenshot", params))["data"]
        await asyncio.to_thread(_write, path, base64.b64decode(data))
        return path


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
