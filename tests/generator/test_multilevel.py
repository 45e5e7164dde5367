"""Multi-level programming with generator pulses through the whole stack (drivers, pyvisa, matrices, B2902,
33522B, simulators, physics, journal): 8 levels between 10 and 100 µS on an 8x8 array with the parameters of
``configs/protocols/program_multilevel.yaml``; SET and coarse RESET on the SMU, fine RESET pulses of 50 ns from the
generator, every verify read on the SMU; the report carries pulses per cell and the per-level histogram."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from labctl.analysis import level_stats, pulses_per_cell
from labctl.bench import CONFIGS
from labctl.core.access import BiasScheme
from labctl.core.config import parse_bench_config
from labctl.core.errors import ConfigError
from labctl.core.writeverify import CellRun
from labctl.jobs.protocol_run import run_protocol
from labctl.report import write_report
from labctl.report._runs import report_from_runs
from labctl.store import RunStore
from protocols import REGISTRY, ListSink
from tests.protocols.simaccess import SimAccess

PARAMS = yaml.safe_load((CONFIGS / "protocols" / "program_multilevel.yaml").read_text())


def _config(size: int) -> object:
    data = yaml.safe_load((CONFIGS / "sim_bench_generator.yaml").read_text())
    data["crossbars"]["xbar0"].update(rows=size, cols=size)
    for inst in data["instruments"].values():  # simulators starved of CPU on a loaded test host must not time out
        inst["timeout"] = 20.0
    return parse_bench_config(data)


@pytest.fixture(scope="module")
def programmed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("multilevel")
    res = asyncio.run(run_protocol(_config(8), "program", {**PARAMS, "seed": 3}, store_root=root))
    return root, str(res.run_id)


def test_eight_levels_within_tolerance_through_the_stack(programmed: tuple[Path, str]) -> None:
    root, run = programmed
    store = RunStore(root)
    outs = list(store.outcomes(run).values())
    ev = store.event_arrays(run)
    levels = level_stats(outs, PARAMS["abs_tol"], PARAMS["rel_tol"], pulses_per_cell(ev))
    assert len(outs) == 64
    assert len(levels) == 8
    assert levels[0].target == pytest.approx(10e-6)
    assert levels[-1].target == pytest.approx(100e-6)
    within = sum(lv.within for lv in levels)
    assert within >= 0.995 * 64  # every cell: |G - target| <= 1 µS + 3 %
    for lv in levels:
        assert abs(lv.mean - lv.target) <= PARAMS["abs_tol"] + PARAMS["rel_tol"] * lv.target
        assert sum(lv.counts) == lv.cells
    pulses = ev["type"] == "pulse"
    widths, volts = ev["width"][pulses], ev["volts"][pulses]
    fine = np.isclose(widths, PARAMS["reset_width"])
    assert fine.sum() > 64  # the generator did the fine RESET work
    assert np.all(volts[fine] < 0)  # ... and only RESET
    assert np.all(np.isnan(ev["current"][pulses][fine]))  # a generator measures nothing
    assert np.all(widths[~fine] >= 50e-6)  # everything else on the B2902 (its pulse-mode minimum)
    assert np.all(volts[~fine & (volts > 0)] <= PARAMS.get("set_cap", 1.8) + 1e-9)


def test_the_report_has_pulses_per_cell_and_the_level_histogram(programmed: tuple[Path, str],
                                                                  tmp_path: Path) -> None:
    root, run = programmed
    report = report_from_runs(root, [run])
    (p,) = report.programming
    assert p.cells == 64
    assert math.isfinite(p.pulses_per_cell["mean"])
    assert [round(lv.target * 1e6, 1) for lv in p.levels] == [10.0, 22.9, 35.7, 48.6, 61.4, 74.3, 87.1, 100.0]
    assert sum(lv.cells for lv in p.levels) == 64
    out = tmp_path / "report.html"
    write_report(report, out)
    html = out.read_text()
    assert "Levels:" in html
    assert "within tol." in html
    assert "pulses per cell" in html


class _InstrumentLoop(SimAccess):
    """A bench whose SMU would run write-verify itself (labctl's 2600B script): one width, no coarse RESET."""

    def can_program_cells(self, scheme: BiasScheme) -> bool:
        return True

    async def program_cell(self, *args: object) -> CellRun:
        raise AssertionError("must be refused before any cell is programmed")


@pytest.mark.parametrize(("extra", "name"), [({"reset_width": 5e-8}, "set_width/reset_width"),
                                             ({"coarse_above": 3e-4}, "coarse_above"),
                                             ({"reset_hold": 0.03}, "reset_hold")])
def test_host_only_rules_are_refused_by_the_in_instrument_path(extra: dict[str, float], name: str) -> None:
    spec = REGISTRY["program"]
    params = spec.parse({"random_levels": 2, "shape": [1, 2], **extra})
    sink = ListSink()
    with pytest.raises(ConfigError, match=rf"{name}.*inside the SMU"):
        asyncio.run(spec.run(_InstrumentLoop(2, 2), params, sink))
    assert not [r for r in sink.records if type(r).__name__ == "PulseRecord"]
    asyncio.run(spec.run(_InstrumentLoop(2, 2), spec.parse({**params.model_dump(), **extra, "parallel": 2}), sink))


def test_new_parameters_are_checked() -> None:
    spec = REGISTRY["program"]
    with pytest.raises(ConfigError, match="reset_width"):
        spec.parse({"random_levels": 2, "reset_width": 2e-3, "width_max": 1e-3})
    with pytest.raises(ConfigError, match="coarse_start"):
        spec.parse({"random_levels": 2, "coarse_above": 3e-4, "coarse_start": 2.0, "reset_cap": 1.8})
    with pytest.raises(ConfigError, match="reset_hold"):
        spec.parse({"random_levels": 2, "reset_hold": 1.5})
    with pytest.raises(ConfigError, match="erase_volts"):
        asyncio.run(spec.run(SimAccess(2, 2), spec.parse({"random_levels": 2, "erase_volts": 19.0}), ListSink()))
