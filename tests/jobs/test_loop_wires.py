"""The loop's picture of the chip's lines: wires from the options or the sim section, backgrounds, ChipLines."""

from __future__ import annotations

import numpy as np
import pytest

from labctl.analysis.placement import origin_placement
from labctl.bench import CONFIGS, DEFAULT_CONFIG
from labctl.core.config import load_bench_config
from labctl.jobs._wires import chip_lines, line_resistance

ARRAYS = {"xbar0": (64, 64), "xbar1": (64, 64)}


def test_wires_come_from_the_options_first_then_the_sim_section() -> None:
    realistic = load_bench_config(CONFIGS / "sim_bench_realistic.yaml")
    ideal = load_bench_config(DEFAULT_CONFIG)
    assert line_resistance(realistic, None, list(ARRAYS)) == {x: (2.5, 2.5, 5.0) for x in ARRAYS}
    assert line_resistance(ideal, None, list(ARRAYS)) == {}  # ideal lines: no IR model
    given = {"xbar1": (1.0, 2.0, 3.0)}
    assert line_resistance(ideal, given, list(ARRAYS)) == {"xbar1": (1.0, 2.0, 3.0)}
    assert line_resistance(realistic, given, list(ARRAYS))["xbar1"] == (1.0, 2.0, 3.0)


def test_chip_lines_put_the_measured_layers_over_the_scan_background() -> None:
    pl = origin_placement({"fc1": ("xbar0", 10, 0), "fc2": ("xbar1", 3, 5)}, {"fc1": (16, 64), "fc2": (32, 8)})
    rng = np.random.default_rng(0)
    measured = {"fc1": rng.uniform(8e-6, 77e-6, (16, 64)), "fc2": rng.uniform(8e-6, 77e-6, (32, 8))}
    scan_bg = np.full((64, 64), 6e-6)
    scan_bg[0, 0] = np.nan  # not reached by the scan: taken as OFF
    scan_bg[50, 7] = 1.8e-3  # a stuck-ON cell outside the layers stays in the picture
    lines = chip_lines(pl, measured, {"xbar0": (2.5, 2.5, 5.0), "xbar1": (2.5, 2.5, 5.0)},
                       {"xbar0": scan_bg, "xbar1": scan_bg.copy()}, ARRAYS, 8e-6)
    assert lines is not None
    bg0 = lines.background["xbar0"]
    assert np.array_equal(bg0[10:26, :], measured["fc1"])
    assert bg0[0, 0] == 8e-6
    assert bg0[50, 7] == 1.8e-3
    assert np.array_equal(lines.background["xbar1"][3:35, 5:13], measured["fc2"])
    seg = lines.layers["fc2"][0]
    assert (seg.crossbar, seg.rows[0], seg.cols[0]) == ("xbar1", 3, 5)
    assert lines.wires["xbar0"].r_contact == 5.0
    assert lines.worst_coupling() < 1.0
    # no wires on the crossbars in use: no line model
    assert chip_lines(pl, measured, {}, {}, ARRAYS, 8e-6) is None


def test_a_bench_with_wires_is_scanned_set_then_reset_unless_the_options_say() -> None:
    from labctl.jobs.closed_loop import LoopOptions, scan_params

    realistic = load_bench_config(CONFIGS / "sim_bench_realistic.yaml")
    ideal = load_bench_config(DEFAULT_CONFIG)
    assert "order" not in scan_params(LoopOptions(), ideal, ARRAYS)  # the ideal chip as before
    assert scan_params(LoopOptions(), realistic, ARRAYS)["order"] == "set_reset"
    assert scan_params(LoopOptions(wires={"xbar0": (1.0, 1.0, 1.0)}), ideal, ARRAYS)["order"] == "set_reset"
    explicit = LoopOptions(scan={"read_found": False, "restore": False, "order": "reset_set"})
    assert scan_params(explicit, realistic, ARRAYS)["order"] == "reset_set"


def test_a_simulated_chip_with_wires_gets_compliance_limited_scan_and_write_verify() -> None:
    from labctl.jobs._wired_settings import WIRED_PROGRAM, WIRED_SCAN
    from labctl.jobs.closed_loop import LoopOptions, program_params, scan_params

    realistic = load_bench_config(CONFIGS / "sim_bench_realistic.yaml")
    ideal = load_bench_config(DEFAULT_CONFIG)
    scan = scan_params(LoopOptions(), realistic, ARRAYS)
    assert {k: scan[k] for k in WIRED_SCAN} == WIRED_SCAN
    assert scan["read_found"] is False  # the options' own keys stay
    prog = program_params(LoopOptions(), realistic, ARRAYS)
    assert {k: prog[k] for k in WIRED_PROGRAM} == WIRED_PROGRAM
    assert prog["width"] == 1e-4
    mine = program_params(LoopOptions(program={"set_headroom": 2e-3, "width": 5e-5}), realistic, ARRAYS)
    assert mine["set_headroom"] == 2e-3
    assert mine["set_compliance"] == WIRED_PROGRAM["set_compliance"]
    assert mine["width"] == 5e-5
    # ideal lines, or wires only from a calibration (a real bench's settings are the user's): unchanged
    assert program_params(LoopOptions(), ideal, ARRAYS) == LoopOptions().program
    calibrated = LoopOptions(wires={"xbar0": (1.0, 1.0, 1.0)})
    assert program_params(calibrated, ideal, ARRAYS) == calibrated.program
    assert "set_compliance" not in scan_params(calibrated, ideal, ARRAYS)


def test_wired_write_verify_uses_v3_where_every_crossbar_has_a_bias_col_input() -> None:
    from labctl.core.config import Role
    from labctl.jobs._wired_settings import WIRED_PROGRAM, WIRED_PROGRAM_HALF
    from labctl.jobs.closed_loop import LoopOptions, program_params

    realistic = load_bench_config(CONFIGS / "sim_bench_realistic.yaml")
    assert program_params(LoopOptions(), realistic, ARRAYS)["scheme"] == "v/3"
    assert WIRED_PROGRAM["set_cap"] <= realistic.limits.max_program_voltage
    # the same chip wired without the second column source: V/2 with its own settings
    xb = realistic.crossbars["xbar1"]
    inputs = tuple(i for i in xb.wiring.inputs if Role.BIAS_COL not in i.roles)
    assert len(inputs) < len(xb.wiring.inputs)
    wiring = xb.wiring.model_copy(update={"inputs": inputs})
    half = realistic.model_copy(update={"crossbars": {**realistic.crossbars,
                                                      "xbar1": xb.model_copy(update={"wiring": wiring})}})
    prog = program_params(LoopOptions(), half, ARRAYS)
    assert {k: prog[k] for k in WIRED_PROGRAM_HALF} == WIRED_PROGRAM_HALF
    # a 'bias_col' role on the rows' bias input is no column source of its own (the bench cannot pulse V/3 there)
    bias = next(i for i in inputs if Role.BIAS in i.roles)
    shared = tuple(i.model_copy(update={"roles": (*i.roles, Role.BIAS_COL)}) if i is bias else i for i in inputs)
    same = realistic.model_copy(update={"crossbars": {**realistic.crossbars, "xbar1": xb.model_copy(
        update={"wiring": xb.wiring.model_copy(update={"inputs": shared})})}})
    assert program_params(LoopOptions(), same, ARRAYS)["scheme"] == "v/2"
    # a scheme the user gives stays
    assert program_params(LoopOptions(program={"scheme": "v/2"}), realistic, ARRAYS)["scheme"] == "v/2"


def test_wired_chips_get_a_risk_aware_placement_and_two_retraining_passes() -> None:
    from labctl.jobs._wired_settings import WIRED_RISK_WINDOW
    from labctl.jobs.closed_loop import LoopOptions, retrain_passes, risk_window

    realistic = load_bench_config(CONFIGS / "sim_bench_realistic.yaml")
    ideal = load_bench_config(DEFAULT_CONFIG)
    assert risk_window(LoopOptions(), realistic, ARRAYS) == WIRED_RISK_WINDOW
    assert risk_window(LoopOptions(), ideal, ARRAYS) == 0
    assert risk_window(LoopOptions(wires={"xbar0": (1.0, 1.0, 1.0)}), ideal, ARRAYS) == WIRED_RISK_WINDOW
    assert risk_window(LoopOptions(risk_window=5), realistic, ARRAYS) == 5
    with pytest.raises(ValueError, match="risk_window 4 is invalid"):
        LoopOptions(risk_window=4)
    assert retrain_passes(LoopOptions(), realistic, ARRAYS) == 3
    assert retrain_passes(LoopOptions(), ideal, ARRAYS) == 1
    assert retrain_passes(LoopOptions(retrain_passes=3), ideal, ARRAYS) == 3


def test_reprogramming_odds_are_the_first_programming_failures_per_target_state() -> None:
    from labctl.jobs.closed_loop import reprogram_odds
    from labctl.train.measured import MeasuredMap

    targets = {"a": np.array([[77e-6, 8e-6], [77e-6, 8e-6]]), "b": np.array([[77e-6, 77e-6]])}
    maps = {"a": MeasuredMap("a", np.full((2, 2), 5e-6), np.array([[1, 0], [0, 0]]), 0.1),
            "b": MeasuredMap("b", np.full((1, 2), 5e-6), np.array([[2, 0]]), 0.1)}
    off, on = reprogram_odds(targets, maps, 40e-6)
    assert off == 0.0
    assert on == 0.5  # 2 of the 4 ON cells failed or stuck


def test_input_repeats_default_to_one_row_and_are_checked() -> None:
    from labctl.core.errors import ConfigError
    from labctl.jobs.closed_loop import LoopOptions, input_repeats

    assert input_repeats(LoopOptions(), ARRAYS) == (1, 1)
    assert input_repeats(LoopOptions(repeats=(2, 1)), ARRAYS) == (2, 1)
    with pytest.raises(ConfigError, match="repeats"):  # fc2's 32 inputs x 3 rows do not fit 64 rows
        input_repeats(LoopOptions(repeats=(1, 3)), ARRAYS)
    with pytest.raises(ConfigError, match="repeats"):  # one per layer
        input_repeats(LoopOptions(repeats=(2,)), ARRAYS)
    with pytest.raises(ValueError, match=r"repeats \(0, 2\) is invalid; allowed: one integer 1\.\.8 per layer"):
        LoopOptions(repeats=(0, 2))


def test_wired_write_verify_limits_each_set_to_the_rows_load_plus_a_small_headroom() -> None:
    """On the realistic chip the SET limit leaves the switching cell a headroom of a few times what a 77 uS cell
    draws at the SET amplitude (about 0.12 mA at 1.5 V), not the 0.7 mA that let ON cells overshoot (decision 0066)."""
    from labctl.jobs.closed_loop import LoopOptions, program_params

    cfg = load_bench_config(CONFIGS / "sim_bench_realistic.yaml")
    prog = program_params(LoopOptions(), cfg, ARRAYS)
    assert prog["scheme"] == "v/3"
    assert 0.1e-3 <= prog["set_headroom"] <= 0.3e-3
