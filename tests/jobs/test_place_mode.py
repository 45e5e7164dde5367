"""The placement mode is one option type shared by the main loop and the digits job: same values, same error."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from labctl.jobs.closed_loop import LoopOptions
from labctl.jobs.digits_recovery import DigitsRecoveryOptions


@pytest.mark.parametrize("options", [LoopOptions, DigitsRecoveryOptions])
def test_place_accepts_auto_and_fixed_and_names_the_allowed_values(options) -> None:
    assert options(place="auto").place == "auto"
    assert options(place="fixed").place == "fixed"
    with pytest.raises(ValidationError, match=r"place 'anywhere' is invalid; allowed: auto, fixed"):
        options(place="anywhere")
