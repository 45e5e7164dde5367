"""Loopback by default; a token is required off loopback and, when set, on every request."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from labctl.core.errors import ConfigError
from labctl.service.security import check_bind
from tests.service.harness import program_job, serve

TOKEN = "t0k3n-for-tests-only-0123456789"


def test_non_loopback_needs_a_token() -> None:
    check_bind("127.0.0.1", None)
    check_bind("::1", None)
    with pytest.raises(ConfigError, match="host"):
        check_bind("0.0.0.0", None)
    with pytest.raises(ConfigError, match="token"):
        check_bind("0.0.0.0", "short")
    check_bind("0.0.0.0", "x" * 32)


def test_serve_refuses_non_loopback_without_token(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from labctl.cli import cli

    res = CliRunner(env={"LABCTL_TOKEN": ""}).invoke(cli, ["serve", "--host", "0.0.0.0", "--store", str(tmp_path)])
    assert res.exit_code != 0
    assert "needs a token" in str(res.exception)


async def test_every_request_needs_the_token(tmp_path: Path) -> None:
    async with serve(tmp_path, token=TOKEN) as svc:
        async with httpx.AsyncClient(base_url=svc.url) as anon:
            for method, path in [("GET", "/status"), ("GET", "/jobs"), ("GET", "/benches"), ("GET", "/runs"),
                                 ("POST", "/openapi.json"), ("GET", "/docs/../status")]:
                r = await anon.request(method, path)
                assert r.status_code == 401, path
                assert r.headers["www-authenticate"] == "Bearer"
            # the docs page opens in a browser without the token; its "Authorize" button takes the token
            docs = await anon.get("/docs")
            assert docs.status_code == 200
            assert "swagger" in docs.text.lower()
            assert (await anon.get("/openapi.json")).json()["components"]["securitySchemes"]["bearer"]
            r = await anon.post("/jobs", json=program_job("a", 2, 2))
            assert r.status_code == 401
            r = await anon.get("/status", headers={"Authorization": "Bearer wrong-token-wrong-token"})
            assert r.status_code == 401
        async with httpx.AsyncClient(base_url=svc.url, headers={"Authorization": f"Bearer {TOKEN}"}) as c:
            assert (await c.get("/status")).status_code == 200
            doc = (await c.get("/openapi.json")).json()
            assert doc["security"] == [{"bearer": []}]
            assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


async def test_dashboard_files_are_public_their_data_is_not(tmp_path: Path) -> None:
    """The page and its modules hold no data and load without the token; everything else still needs it."""
    async with serve(tmp_path, token=TOKEN) as svc, httpx.AsyncClient(base_url=svc.url) as anon:
        page = await anon.get("/")
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert (await anon.get("/ui/app.js")).status_code == 200
        assert (await anon.get("/ui/nope.js")).status_code == 404
        for path in ("/status", "/benches", "/jobs", "/runs", "/ui", "/uix/app.js"):
            assert (await anon.get(path)).status_code == 401, path
        assert (await anon.post("/", json={})).status_code == 401
        token_free = await anon.get("/ui/api.js")
        assert TOKEN not in token_free.text
