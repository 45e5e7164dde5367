"""The ``hil`` section of a bench YAML: what the hardware-in-the-loop checks (``labctl hil``) may touch and expect.

Everything is optional: without a section the checks use the whole first crossbar, expect no particular
conductance distribution and never program (programming needs ``test_area`` and ``--allow-program``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TestArea(_Strict):
    """A block of cells the checks may read (and, with ``--allow-program``, program)."""

    __test__ = False  # not a pytest test class

    crossbar: str = Field(min_length=1, description="Crossbar name (a key of 'crossbars')")
    origin: tuple[int, int] = Field((0, 0), description="First cell (row, col), 0-based")
    shape: tuple[int, int] = Field((4, 4), description="Block size (rows, cols)")

    @model_validator(mode="after")
    def _positive(self) -> TestArea:
        if min(self.origin) < 0:
            raise ValueError(f"origin = {list(self.origin)} is out of range; allowed: row, col >= 0")
        if min(self.shape) < 1:
            raise ValueError(f"shape = {list(self.shape)} is out of range; allowed: rows, cols >= 1")
        return self


class ExpectedConductance(_Strict):
    """The read conductances a healthy array of this chip shows (for the map-read check)."""

    min: float = Field(gt=0, le=1, description="Lowest healthy read conductance, S")
    max: float = Field(gt=0, le=1, description="Highest healthy read conductance, S")
    fraction: float = Field(0.9, gt=0, le=1, description="Fraction of read cells that must lie in [min, max]")

    @model_validator(mode="after")
    def _ordered(self) -> ExpectedConductance:
        if not self.min < self.max:
            raise ValueError(f"min = {self.min:g} S must be below max = {self.max:g} S")
        return self


class HilConfig(_Strict):
    """Settings of the hardware-in-the-loop checks."""

    test_area: TestArea | None = Field(None, description="Cells the map read (and programming) may use")
    expected: ExpectedConductance | None = Field(None, description="Expected read-conductance distribution")
    read_voltage: float | None = Field(None, gt=0, le=1, description="Read voltage of the checks, V "
                                       "(default: half the read clamp)")
    continuity_min_current: float = Field(1e-9, gt=0, le=1e-3, description="Smallest current that shows a line "
                                          "is connected, A (at the read voltage through the array)")
    program_levels: tuple[float, ...] = Field((20e-6, 80e-6), min_length=1, max_length=8,
                                              description="Target conductances of the programming check, S")
    program_yield: float = Field(0.9, gt=0, le=1, description="Fraction of test cells that must converge")
