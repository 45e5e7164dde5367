"""The report's pass table: which retraining passes reprogrammed, when a refused pass is followed by one that did."""

from __future__ import annotations

from types import SimpleNamespace

from labctl.jobs.closed_loop import pass_rows


def _result(errors_before: float, errors_after: float) -> SimpleNamespace:
    return SimpleNamespace(before={"measured": 0.98, "errors": errors_before, "selection": 0.54},
                           after={"measured": 0.99, "errors": errors_after, "selection": 0.53},
                           cells_to_program={"fc1": 10, "fc2": 2})


def test_a_pass_is_marked_applied_by_its_index_not_its_position():
    """Passes 1 and 2 refused (the chip left as it was), pass 3 reprogrammed: only pass 3 is applied."""
    rows = pass_rows([_result(3, 3), _result(3, 3), _result(3, 0)], applied=[2])
    assert [r["pass"] for r in rows] == [1, 2, 3]
    assert [r["applied"] for r in rows] == [False, False, True]
    assert rows[2]["errors_as_read"] == 3
    assert rows[2]["errors_predicted"] == 0
    assert rows[0]["cells_to_program"] == {"fc1": 10, "fc2": 2}
    assert [r["applied"] for r in pass_rows([_result(4, 2), _result(2, 2)], applied=[0])] == [True, False]
