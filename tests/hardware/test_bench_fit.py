"""Is the bench given with ``--bench-config`` fit to use? One test per ``labctl hil`` check, in order."""

from __future__ import annotations

import pytest

from labctl.hil import CHECK_KEYS, HilReport, Status

pytestmark = pytest.mark.hardware


@pytest.mark.parametrize("key", CHECK_KEYS)
def test_check(hil_report: HilReport, key: str) -> None:
    result = hil_report.result(key)
    if result.status == Status.SKIP:
        pytest.skip(result.summary)
    assert result.status == Status.PASS, result.summary + "\n" + "\n".join(result.evidence)
