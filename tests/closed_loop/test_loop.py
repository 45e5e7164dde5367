"""The full loop end to end on the simulated bench (small network, few test images), and its report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from labctl.analysis import max_read_volts
from labctl.analysis.placement import Placement
from labctl.bench import DEFAULT_CONFIG
from labctl.core.config import load_bench_config
from labctl.core.errors import ConfigError
from labctl.jobs.closed_loop import LoopOptions, LoopResult, run_loop
from labctl.report import Report, report_from_runs
from labctl.store import RunStore
from labctl.train.periphery_fit import GAIN_MAX, GAIN_MIN
from protocols.scan import fault_classes

# the module fixture trains, scans 2 x 384 cells, programs, reads, infers and retrains: more than the 120 s default
# on a loaded machine
pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def loop_result(tmp_path_factory: pytest.TempPathFactory) -> tuple[LoopOptions, LoopResult]:
    import asyncio

    out = tmp_path_factory.mktemp("loop")
    # a chip with 3 % + 3 % stuck cells; the scan covers 24 x 16 cells of each crossbar (the rest counts as unknown)
    # and parks them OFF; the retraining runs on the placed lines with wires given as a calibration would
    opts = LoopOptions(out=str(out), bench=str(DEFAULT_CONFIG), sizes=(16, 6, 4), n_test=24, retrain_epochs=100,
                       read_repeats=2, train={"restarts": 1, "epochs": 60, "hard_epochs": 30},
                       stuck_on=0.03, stuck_off=0.03, transport="inproc", retrain_passes=2, risk_window=0,
                       scan={"read_found": False, "restore": False, "order": "set_reset", "region": (0, 24, 0, 16)},
                       wires={"xbar0": (2.5, 2.5, 5.0), "xbar1": (2.5, 2.5, 5.0)})
    return opts, asyncio.run(run_loop(opts))


def test_loop_writes_report_and_json_twin(loop_result):
    _opts, res = loop_result
    assert res.html.exists()
    twin = json.loads(res.json.read_text())
    assert Report.from_json(res.json.read_text()) == res.report
    stages = {a["stage"]: a for a in twin["accuracy"]}
    for stage in ("before retraining", "after retraining"):
        a = stages[stage]
        assert a["n_test"] == 24
        for k in ("software", "ideal_crossbar", "measured_crossbar", "offline_measured"):
            assert 0.0 <= a[k] <= 1.0
        assert a["drop"] == pytest.approx(a["software"] - a["measured_crossbar"])
    page = res.html.read_text()
    assert "before retraining" in page
    assert page.count("data:image/png;base64,") >= 5
    # the retraining ran on the placed lines with the wires the options gave
    assert "wire resistance (xbar0: 2.5/2.5/5 ohm" in res.report.retraining.method


def test_bench_inference_matches_offline_on_measured_maps(loop_result):
    _, res = loop_result
    errs = [e for e in res.report.layer_errors if e.reference == "offline on the measured maps"]
    assert {e.layer for e in errs} == {"fc1", "fc2"}
    v_rail = float(res.report.model["v_rail"])
    for e in errs:
        # outputs swing up to V_RAIL (1.2 V improved, 0.15 V robust); the bench follows the offline model on what
        # it read to within 1/24 of that swing
        assert e.mean_error < 0.05 * v_rail / 1.2
        assert e.n_vectors == 24


def test_runs_are_journalled_and_reprogramming_touches_only_masked_cells(loop_result):
    opts, res = loop_result
    store = RunStore(f"{opts.out}/runs")
    runs = {r.id: r for r in store.list_runs()}
    by_stage = [r for r in res.report.runs if r["protocol"] == "program"]
    assert len([r for r in by_stage if r["stage"] == "initial"]) == 2
    limit = load_bench_config(DEFAULT_CONFIG).limits.read_clamp
    for rid, info in runs.items():
        assert info.status == "completed"
        if info.protocol in ("read_map", "inference"):
            assert max_read_volts(store.event_arrays(rid), store.inferences(rid)) <= limit + 1e-12
    retr = res.report.retraining
    assert retr is not None
    assert 1 <= len(retr.passes) <= 2
    # a pass reprograms exactly when it gains on the noisy training letters (the test images decide nothing)
    for q in retr.passes:
        assert q["applied"] == (q["selection_predicted"] < q["selection_as_read"]
                                and q["errors_predicted"] < q["errors_as_read"])
    assert retr.passes[0]["applied"]  # this chip's faults cost accuracy: the first pass reprograms
    union: dict[str, np.ndarray] = {}
    for p in res.report.programming:
        if p.stage.startswith("after retraining"):
            k = int(p.stage.split("pass ")[1].rstrip(")"))  # 2 passes: "after retraining (pass k)"
            assert retr.passes[k - 1]["applied"]
            assert p.cells == retr.passes[k - 1]["cells_to_program"][p.layer]
            folder = "targets_retrained" if k == 1 else f"targets_retrained_{k}"
            mask = np.load(f"{opts.out}/{folder}/{p.layer}.npz")["mask"]
            union[p.layer] = union.get(p.layer, np.zeros_like(mask)) | mask
            lp = Placement.from_dict(res.report.placement).layers[p.layer]
            (seg,) = [s for s in lp.segments if s.crossbar == p.crossbar]
            logical = {(r, c): (seg.rows.index(r), seg.outputs[seg.cols.index(c)]) for r in seg.rows for c in seg.cols}
            cells = {logical[rc] for rc in store.outcomes(str(p.run_id))}
            assert cells == {(int(r), int(c)) for r, c in np.argwhere(mask) if int(c) in seg.outputs}
    assert {n: int(m.sum()) for n, m in union.items()} == {n: c for n, c in retr.cells_to_program.items() if c}


def test_periphery_is_refit_to_the_chip_as_read_without_reprogramming(loop_result):
    opts, res = loop_result
    fits = res.report.retraining.periphery
    assert fits is not None
    assert json.loads((Path(opts.out) / "periphery_fit.json").read_text()) == fits
    assert "after the first programming" in fits
    assert set(fits) <= {"after the first programming", "after the last pass"}
    for pf in fits.values():
        better = pf["selection_after"] < pf["selection_before"] and pf["errors_after"] < pf["errors_before"]
        assert pf["applied"] == better
        for out, n in zip(pf["output"], opts.sizes[1:], strict=True):
            assert len(out["bias"]) == n
            if "gain" in out:
                assert len(out["gain"]) == n
                assert all(GAIN_MIN <= g <= GAIN_MAX for g in out["gain"])
    assert "Periphery refit to the chip as read" in res.html.read_text()
    # the refits pulse nothing: every programming run belongs to the first programming or a pass
    assert {r["stage"] for r in res.report.runs if r["protocol"] == "program"} <= {
        "initial", "after retraining (pass 1)", "after retraining (pass 2)"}
    # the first pass's targets carry the periphery the first refit left in use
    first = fits["after the first programming"]
    retrained = Path(opts.out) / "targets_retrained" / "fc1.json"
    if retrained.exists():
        out = json.loads(retrained.read_text())["periphery"]["output"]
        assert out["bias"] == pytest.approx(first["output"][0]["bias"])
        assert ("gain" in out) == ("gain" in first["output"][0])


def test_layers_are_placed_around_the_scanned_faults(loop_result):
    opts, res = loop_result
    store = RunStore(f"{opts.out}/runs")
    pl = Placement.from_dict(res.report.placement)
    scans = [r for r in res.report.runs if r["protocol"] == "scan"]
    assert {r["crossbar"] for r in scans} == {"xbar0", "xbar1"}
    faults = {}
    for r in scans:
        m = store.load_map(r["id"], name="scan")
        faults[r["crossbar"]] = fault_classes(np.asarray(m.extra["fault_class"], dtype=np.int64))
    assert sum(int((f == "stuck_on").sum()) for f in faults.values()) > 10
    for lp in pl.layers.values():
        for seg in lp.segments:
            used = faults[seg.crossbar][np.ix_(list(seg.rows), list(seg.cols))]
            assert (used != "stuck_on").all()  # no stuck-ON cell in a driven row x used column
            assert (used != "").all()  # only scanned cells
    assert Placement.from_json((res.html.parent / "placement.json").read_text()) == pl
    page = res.html.read_text()
    assert 'id="placement"' in page
    assert 'class="faultmap"' in page
    assert res.report.fault_maps["xbar0"][0][:16].count("O") == int((faults["xbar0"][0, :16] == "stuck_on").sum())


def test_report_command_regenerates_from_the_loop_run(loop_result, tmp_path):
    from labctl.cli import cli

    opts, res = loop_result
    again = report_from_runs(f"{opts.out}/runs", [res.run_id])
    assert again.accuracy == res.report.accuracy
    out = tmp_path / "again.html"
    r = CliRunner().invoke(cli, ["report", res.run_id, "--store", f"{opts.out}/runs", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert json.loads(out.with_suffix(".json").read_text())["accuracy"] == json.loads(res.json.read_text())["accuracy"]
    # protocol runs alone: maps and programming statistics from the journal
    prog = [x["id"] for x in res.report.runs if x["protocol"] in ("program", "read_map")][:4]
    rep = report_from_runs(f"{opts.out}/runs", prog)
    assert rep.programming
    assert rep.maps


def test_bad_options_are_refused(tmp_path):
    import asyncio

    with pytest.raises(ConfigError, match="stuck"):
        asyncio.run(run_loop(LoopOptions(out=str(tmp_path), bench="configs/example_lab_bench.yaml",
                                         sizes=(16, 2, 4), stuck_on=0.1, retrain_epochs=0)))
    with pytest.raises(ConfigError, match="placement"):
        asyncio.run(run_loop(LoopOptions(out=str(tmp_path), sizes=(16, 40, 4), retrain_epochs=0, place="fixed",
                                         train={"restarts": 1, "epochs": 4, "hard_epochs": 2})))
    with pytest.raises(ValueError, match="place"):
        LoopOptions(place="anywhere")
    with pytest.raises(ValueError, match="stuck_on"):
        LoopOptions(stuck_on=0.9)
    with pytest.raises(ValueError, match=r"train epochz is invalid; allowed: fields of the robust recipe"):
        LoopOptions(train={"epochz": 10})


def test_cli_errors_name_the_field():
    from labctl.cli import cli

    r = CliRunner().invoke(cli, ["loop", "--stuck", "0.9", "--out", "unused"])
    assert isinstance(r.exception, ConfigError)
    assert "stuck_on = 0.9" in str(r.exception)
    r = CliRunner().invoke(cli, ["loop", "--sim", "bogus=1", "--out", "unused"])
    assert isinstance(r.exception, ConfigError)
    assert "bogus" in str(r.exception)


def test_no_periphery_fit_reaches_the_options_and_the_command_line(monkeypatch):
    from labctl.cli import cli
    from labctl.jobs import closed_loop

    seen: list[LoopOptions] = []

    async def fake_run(opts: LoopOptions, progress: object = None) -> None:  # stops after option parsing
        seen.append(opts)
        raise ConfigError.invalid("stop", "here", "the test's stand-in for run_loop")

    monkeypatch.setattr(closed_loop, "run_loop", fake_run)
    CliRunner().invoke(cli, ["loop", "--no-periphery-fit", "--out", "unused", "--quiet"])
    CliRunner().invoke(cli, ["loop", "--out", "unused", "--quiet"])
    assert [o.fit_periphery for o in seen] == [False, True]
    assert "--no-periphery-fit" in closed_loop.command_line(seen[0])
    assert "--no-periphery-fit" not in closed_loop.command_line(seen[1])
