"""Run ids whole in a pipe, found by a prefix; the loop's runs named when the default store is empty."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from labctl.cli import cli
from labctl.core.errors import StoreError
from labctl.store import RunStore


def test_run_ids_whole_in_a_pipe_and_prefixes(tmp_path: Path) -> None:
    store = tmp_path / "store"
    st = RunStore(store)
    ids = [st.create_run("read_map", {}, {}, run_id=rid).id
           for rid in ("20261205-062011-read_map-4f2a9c", "20261205-062011-read_map-4f2b00")]
    res = CliRunner().invoke(cli, ["runs", "list", "--store", str(store)])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].split("\t")[0] == "run"
    assert [line.split("\t")[0] for line in lines[1:]] == ids  # whole, one per line (not a tty)
    assert st.resolve("20261205-062011-read_map-4f2a") == ids[0]
    with pytest.raises(StoreError, match="ambiguous"):
        st.resolve("20261205-062011-read_map-4f2")
    with pytest.raises(StoreError, match="not found"):
        st.resolve("2025")
    res = CliRunner().invoke(cli, ["runs", "show", "20261205-062011-read_map-4f2b", "--store", str(store)])
    assert res.exit_code == 0, res.output
    assert ids[1] in res.output


def test_empty_default_store_points_at_the_loops_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LABCTL_STORE", raising=False)
    run = tmp_path / "results" / "loop" / "runs" / "r1"
    run.mkdir(parents=True)
    (run / "journal.sqlite").write_bytes(b"")
    res = CliRunner().invoke(cli, ["runs", "list"])
    assert res.exit_code == 0
    assert "no runs in labctl-store" in res.output
    assert "labctl runs list --store results/loop/runs" in res.output
