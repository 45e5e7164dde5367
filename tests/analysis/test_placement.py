"""Fault-aware placement: fault maps in, placement out (pure NumPy, no bench)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from labctl.analysis.assignment import assign
from labctl.analysis.placement import ROW_LOAD, Placement, damage, origin_placement, place, switching_risk
from labctl.core.errors import ConfigError

SHAPES = {"fc1": (16, 64), "fc2": (32, 8)}


def _chip(p_on: float, p_off: float, seed: int, shape: tuple[int, int] = (64, 64)) -> np.ndarray:
    u = np.random.default_rng(seed).random(shape)
    c = np.full(shape, "working", dtype="<U9")
    c[u < p_on] = "stuck_on"
    c[(u >= p_on) & (u < p_on + p_off)] = "stuck_off"
    return c


def _used(pl: Placement, faults: dict[str, np.ndarray], cls: str) -> int:
    """Cells of class ``cls`` in a driven row x used column of any layer, counted from the segments."""
    n = 0
    for lp in pl.layers.values():
        for s in lp.segments:
            n += int((faults[s.crossbar][np.ix_(list(s.rows), list(s.cols))] == cls).sum())
    return n


def test_assign_is_optimal_against_brute_force() -> None:
    rng = np.random.default_rng(1)
    for _ in range(40):
        n, m = int(rng.integers(1, 5)), int(rng.integers(4, 7))
        c = rng.random((n, m))
        a = assign(c)
        assert len(set(a.tolist())) == n
        best = min(sum(c[i, p[i]] for i in range(n)) for p in itertools.permutations(range(m), n))
        assert c[np.arange(n), a].sum() == pytest.approx(best)
    with pytest.raises(ConfigError, match="rows <= columns"):
        assign(np.zeros((3, 2)))


def test_avoids_every_stuck_on_cell_when_a_clean_placement_exists() -> None:
    # a clean placement is planted: rows 40..55 of xbar0 and rows 8..39 x columns 0..7 of xbar1 hold no stuck-ON
    for seed in range(3):
        faults = {"xbar0": _chip(0.05, 0.05, seed), "xbar1": _chip(0.05, 0.05, seed + 10)}
        faults["xbar0"][40:56][faults["xbar0"][40:56] == "stuck_on"] = "working"
        block = faults["xbar1"][8:40, :8]
        block[block == "stuck_on"] = "working"
        pl = place(SHAPES, faults)
        pl.check({"xbar0": (64, 64), "xbar1": (64, 64)})
        assert _used(pl, faults, "stuck_on") == 0
        assert all(d["stuck_on"] == 0 for d in pl.damage.values())
    # the fixed origins on the same chip do hit stuck-ON cells
    fixed = origin_placement({"fc1": ("xbar0", 0, 0), "fc2": ("xbar1", 0, 0)}, SHAPES)
    assert _used(fixed, faults, "stuck_on") > 10


def test_spreads_a_layer_over_crossbars_when_one_has_no_clean_place() -> None:
    faults = {"xbar0": _chip(0.05, 0.05, 0), "xbar1": _chip(0.05, 0.05, 1)}
    pl = place(SHAPES, faults, seed=0)
    assert _used(pl, faults, "stuck_on") == 0
    assert len(pl.layers["fc1"].segments) == 2  # 0.95**64: no 16 rows of one array are clean on all 64 columns


def test_stuck_off_cells_go_under_off_targets() -> None:
    faults = {"xbar0": _chip(0.0, 0.1, 5, (40, 20))}
    rng = np.random.default_rng(0)
    on = {"fc": rng.random((12, 10)) < 0.5}
    pl = place({"fc": (12, 10)}, faults, on_targets=on)
    d = damage(pl, faults, on)["fc"]
    assert d["off_under_on_target"] == 0
    assert d["stuck_on"] == 0


def test_scatter_gather_and_json_round_trip() -> None:
    faults = {"a": _chip(0.03, 0.03, 7, (24, 20)), "b": _chip(0.03, 0.03, 8, (24, 20))}
    shapes = {"l1": (6, 30), "l2": (10, 4)}
    pl = place(shapes, faults)
    again = Placement.from_json(pl.to_json())
    assert again == pl
    assert place(shapes, faults) == pl  # deterministic: a resumed run recomputes the same placement
    logical = np.arange(6 * 30, dtype=np.float64).reshape(6, 30)
    full = pl.layers["l1"].scatter(logical, {"a": (24, 20), "b": (24, 20)})
    assert sum(int(m.sum()) for _, m in full.values()) == logical.size
    assert np.array_equal(pl.layers["l1"].gather({x: g for x, (g, _) in full.items()}), logical)
    bad = Placement.from_json(pl.to_json())
    s = bad.layers["l2"].segments[0]
    other = next(t for t in bad.layers["l1"].segments if t.crossbar == s.crossbar)
    bad.layers["l2"] = type(bad.layers["l2"])("l2", 10, 4, (type(s)(s.crossbar, other.rows[:1] + s.rows[1:],
                                                                    s.cols, s.outputs),))
    with pytest.raises(ConfigError, match="rows no other layer uses"):
        bad.check({"a": (24, 20), "b": (24, 20)})


def test_refuses_a_layer_that_fits_nowhere() -> None:
    with pytest.raises(ConfigError, match="free rows"):
        place({"big": (70, 4)}, {"x": _chip(0.0, 0.0, 0)})
    with pytest.raises(ConfigError, match="working, stuck_on"):
        place({"l": (2, 2)}, {"x": np.array([["ok", "ok"], ["ok", "ok"]])})


def test_a_layer_does_not_split_over_rows_a_later_layer_needs() -> None:
    """The digits job's case: fc1 (64 x 64) would split over both 64 x 64 crossbars, taking every row of each,
    and fc2 (32 inputs) found none; now fc1 takes one crossbar when a split leaves no room."""
    rng = np.random.default_rng(0)

    def chip() -> np.ndarray:
        f = np.full((64, 64), "working", dtype=object)
        u = rng.random((64, 64))
        f[u < 0.05] = "stuck_on"
        f[(u >= 0.05) & (u < 0.10)] = "stuck_off"
        return f

    faults = {"xbar0": chip(), "xbar1": chip()}
    pl = place({"fc1": (64, 64), "fc2": (32, 20)}, faults)
    fc1, fc2 = pl.layers["fc1"].segments, pl.layers["fc2"].segments
    assert len(fc1) == 1
    assert len(fc2) == 1
    assert fc1[0].crossbar != fc2[0].crossbar or not set(fc1[0].rows) & set(fc2[0].rows)
    pl.check({"xbar0": (64, 64), "xbar1": (64, 64)})  # in bounds, no cell used twice
    assert pl.damage["fc2"]["stuck_on"] == 0  # the small layer still goes around the faults


def test_switching_risk_is_the_local_stuck_off_fraction() -> None:
    rng = np.random.default_rng(3)
    f = np.where(rng.random((12, 10)) < 0.3, "stuck_off", "working")
    f[0, 0] = "virgin"
    r = switching_risk(f, window=3)
    bad = (f != "working").astype(float)
    for i, j in [(0, 0), (5, 5), (11, 9), (0, 7)]:
        want = bad[max(i - 1, 0):i + 2, max(j - 1, 0):j + 2].mean()
        assert r[i, j] == pytest.approx(want)
    with pytest.raises(ConfigError, match="window"):
        switching_risk(f, window=4)


def test_risk_moves_a_layer_to_the_cells_that_program() -> None:
    faults = {"x0": np.full((32, 32), "working")}
    risk = np.zeros((32, 32))
    risk[:16, :] = 0.5  # rows 0-15 are marginal
    risk[:, 20:] = 0.5  # and so are columns 20-31
    pl = place({"fc": (8, 12)}, faults, risk={"x0": risk}, on_targets={"fc": np.ones((8, 12), bool)})
    seg = pl.layers["fc"].segments[0]
    assert min(seg.rows) >= 16
    assert max(seg.cols) < 20
    with pytest.raises(ConfigError, match="risk"):
        place({"fc": (8, 12)}, faults, risk={"x0": np.full((32, 32), 2.0)})


def test_prefers_rows_whose_stuck_on_cells_sit_only_in_unused_columns_less_often() -> None:
    """A stuck-ON cell in an unused column of a driven row still loads the row (ROW_LOAD): with clean columns
    available on every row, the layer goes to the rows with the fewest stuck-ON cells anywhere."""
    c = np.full((12, 12), "working", dtype="<U9")
    loaded = [0, 1, 2, 3, 4, 5, 6, 7]
    for r in loaded:
        c[r, 11] = "stuck_on"  # the layer needs 4 of 12 columns: column 11 is never needed
    pl = place({"fc": (4, 4)}, {"xbar0": c}, row_load=ROW_LOAD)
    rows = set(pl.layers["fc"].segments[0].rows)
    assert rows == {8, 9, 10, 11}
    assert 11 not in pl.layers["fc"].segments[0].cols
    plain = place({"fc": (4, 4)}, {"xbar0": c})  # no wire resistance: a row's load costs nothing
    assert set(plain.layers["fc"].segments[0].rows) & set(loaded)
