"""``labctl run`` errors and ``labctl runs list | show | export`` on a stored run."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest

from labctl.cli import main
from labctl.jobs.protocol_run import run_protocol
from tests.jobs.test_protocol_run_unit import FakeBench
from tests.protocols.simaccess import SimAccess


@pytest.fixture
def stored(tmp_path: Path) -> tuple[Path, str]:
    res = asyncio.run(run_protocol(None, "program", {"random_levels": 4, "parallel": 4}, store_root=tmp_path,
                                   bench=FakeBench(SimAccess(3, 4, seed=1))))
    return tmp_path, str(res.run_id)


def test_runs_list_show_export(stored: tuple[Path, str], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    root, rid = stored
    main(["runs", "list", "--store", str(root), "--json"])
    (row,) = json.loads(capsys.readouterr().out)
    assert row["id"] == rid
    assert row["status"] == "completed"
    main(["runs", "show", rid, "--store", str(root)])
    shown = json.loads(capsys.readouterr().out)
    assert shown["program"]["cells"] == 12
    assert shown["program"]["converged"] == 12
    assert shown["max_read_volts"] == pytest.approx(0.1)
    assert shown["events"]["pulses"] == shown["program"]["pulses_total"] > 0
    out = tmp_path / "m.npz"
    main(["runs", "export", rid, "--store", str(root), "--format", "npz", "--out", str(out)])
    with np.load(out) as z:
        assert z["conductance"].shape == (3, 4)
        assert (z["status"] == "converged").all()


def test_run_errors_are_clear_and_leave_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = tmp_path / "bench.yaml"
    bench.write_text("{}\n")
    store = tmp_path / "store"
    for argv, needle in (
        (["run", "nope", "--bench", str(bench)], "protocol = 'nope'"),
        (["run", "program", "--bench", str(tmp_path / "missing.yaml")], "--bench"),
        (["run", "program", "--bench", str(bench), "--set", "oops"], "--set"),
    ):
        with pytest.raises(SystemExit) as exc:
            main([*argv, "--store", str(store)])
        assert exc.value.code == 2
        assert needle in capsys.readouterr().err
    assert not store.exists()
    with pytest.raises(SystemExit):
        main(["runs", "show", "nope", "--store", str(store)])
    assert "not found" in capsys.readouterr().err
