"""Forming a virgin simulated chip through the real stack: the ramp, the SMU compliance setting the filament,
the journal (resume without re-pulsing formed cells) and the report's forming section."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from labctl.bench import DEFAULT_CONFIG, open_bench
from labctl.core.config import BenchConfig
from labctl.jobs.protocol_run import run_protocol
from labctl.report import render_html, report_from_runs
from labctl.store import RunStore

ICC = 1e-4  # A, compliance of the drive SMU while forming
KNEE = 0.4  # V, NonIdealities.form_v_knee default


def virgin_bench(v_mean: float = 2.4, v_std: float = 0.1) -> BenchConfig:
    """A fresh chip. The spread is kept narrow so that no cell outside the tested region forms: once formed
    cells load the compliance-limited bias source it folds, and unselected cells then see up to ~1.8 V (a
    real passive-array hazard, which a wide forming-voltage spread reproduces)."""
    raw = yaml.safe_load(Path(DEFAULT_CONFIG).read_text())
    raw["sim"]["nonideal"].update({"virgin": 1.0, "form_v_mean": v_mean, "form_v_std": v_std})
    raw["instruments"]["smu0"]["limits"] = {"compliance": ICC}
    return BenchConfig.model_validate(raw)


PARAMS = {"region": [0, 6, 5, 6], "v_start": 1.5, "v_step": 0.1, "v_max": 3.0, "g_formed": 5e-6, "scheme": "v/3",
          "width": 1e-4}


async def test_forming_a_virgin_column_sets_filaments_by_compliance(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    async with open_bench(virgin_bench()) as bench:
        assert bench.simulation is not None
        arr = bench.simulation.crossbars["xbar0"].array
        drawn = arr.v_form[0:6, 5].copy()
        assert arr.virgin.all()
        res = await run_protocol(None, "forming", PARAMS, store_root=tmp_path, bench=bench)
        assert res.status == "completed"
        m = store.load_map(res.run_id, name="forming")
        col = m.status[0:6, 5]
        v_form = m.extra["v_form"][0:6, 5]
        for i in range(6):
            if drawn[i] <= 3.0 - 1e-9:  # reachable: formed at the first ramp step at or above its V_form
                assert col[i] == "converged", (i, drawn[i])
                assert drawn[i] - 1e-9 <= v_form[i] < drawn[i] + 0.1 + 1e-9
                # the first filament's small-signal conductance is I_cc / knee (chord at 0.1 V: x1.027)
                g = float(m.conductance[i, 5])
                assert abs(g - ICC / KNEE * np.sinh(0.4) / 0.4) < 0.03 * g
            else:
                assert col[i] == "stuck"
                assert np.isnan(v_form[i])
        assert arr.virgin[6:, :].all()  # nothing outside the region formed
        assert arr.virgin[0:6, :5].all()
        assert not arr.overformed.any()


async def test_forming_stuck_off_cells_and_report(tmp_path: Path) -> None:
    async with open_bench(virgin_bench(v_mean=2.95)) as bench:
        params = dict(PARAMS, region=[0, 4, 5, 6])
        res = await run_protocol(None, "forming", params, store_root=tmp_path, bench=bench)
        assert res.run_id is not None
        rep = report_from_runs(tmp_path, [res.run_id])
        (fm,) = rep.forming
        arr = bench.simulation.crossbars["xbar0"].array if bench.simulation else None
        assert arr is not None
        drawn = arr.v_form[0:4, 5]
        c = fm.counts()
        assert c["virgin"] == int((drawn > 3.0).sum())
        assert c["formed"] == int((drawn <= 3.0).sum())
        assert c["virgin"] + c["formed"] == 4
        html = render_html(rep)
        assert "<h2>Forming</h2>" in html
        assert "data:image/png;base64," in html
        if c["virgin"]:
            assert 'id="forming-failures"' in html
            assert "virgin" in html
