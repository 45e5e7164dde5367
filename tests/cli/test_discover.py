"""Protocols and their parameters can be discovered from the command line; the job client takes --url/--token
after its subcommand and says what happens to a job when its watch is interrupted."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

import protocols
from labctl.cli import cli


def test_protocols_lists_every_protocol() -> None:
    res = CliRunner().invoke(cli, ["protocols"])
    assert res.exit_code == 0, res.output
    for name, spec in protocols.REGISTRY.items():
        assert name in res.output
        assert spec.summary in res.output


def test_protocol_parameters_with_defaults_ranges_units() -> None:
    res = CliRunner().invoke(cli, ["protocols", "program"])
    assert res.exit_code == 0, res.output
    line = next(x for x in res.output.splitlines() if x.startswith("set_cap "))
    assert "1.8" in line  # default
    assert "(0, 20]" in line  # range
    assert "Largest SET amplitude, V" in line  # description with the unit
    assert all(f in res.output for f in protocols.REGISTRY["program"].params_model.model_fields)


def test_run_help_lists_protocols() -> None:
    res = CliRunner().invoke(cli, ["run", "--help"])
    assert res.exit_code == 0
    assert all(name in res.output for name in protocols.REGISTRY)
    assert "labctl protocols NAME" in res.output


def test_jobs_submit_help_names_a_command_that_exists() -> None:
    res = CliRunner().invoke(cli, ["jobs", "submit", "--help"])
    assert "labctl jobs benches" in res.output
    assert "--benches" not in res.output
    assert CliRunner().invoke(cli, ["jobs", "benches", "--help"]).exit_code == 0


def test_url_and_token_after_the_subcommand(monkeypatch: pytest.MonkeyPatch) -> None:
    from labctl.cli import jobs

    seen: dict[str, Any] = {}

    class Fake:
        def __init__(self, url: str, token: str | None, timeout: float = 30.0) -> None:
            seen.update(url=url, token=token)
            self.http = self

        def close(self) -> None:
            pass

        def request(self, method: str, path: str, **kw: Any) -> Any:
            return {"jobs": [], "total": 0}

    monkeypatch.setattr(jobs, "Client", Fake)
    res = CliRunner().invoke(cli, ["jobs", "list", "--url", "http://127.0.0.1:1234", "--token", "t" * 16])
    assert res.exit_code == 0, res.output
    assert seen == {"url": "http://127.0.0.1:1234", "token": "t" * 16}
    res = CliRunner().invoke(cli, ["jobs", "--url", "http://127.0.0.1:4321", "list"])
    assert res.exit_code == 0, res.output
    assert seen["url"] == "http://127.0.0.1:4321"


def test_ctrl_c_on_watch_says_the_job_runs_on(capsys: pytest.CaptureFixture[str]) -> None:
    from labctl.cli.jobs import _watch

    class Interrupted:
        def events(self, job_id: str) -> Any:
            yield "progress", {"done": 1, "total": 4}
            raise KeyboardInterrupt

    with pytest.raises(SystemExit) as exc:
        _watch(Interrupted(), "0123456789ab")  # type: ignore[arg-type]
    assert exc.value.code == 130
    err = capsys.readouterr().err
    assert "still running" in err
    assert "labctl jobs cancel 0123456789ab" in err
