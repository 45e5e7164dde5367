"""Safety limits of a bench, declared in its YAML and enforced inside the drivers."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from labctl.core.errors import LimitError


class SafetyLimits(BaseModel):
    """Limits no protocol or API call can bypass. SI units throughout."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_program_voltage: float = Field(3.5, gt=0, le=20, description="Largest |V| of any programming pulse, V")
    read_clamp: float = Field(
        0.3, gt=0, le=1.0, description="Largest |V| applied to any cell during a read or inference, V"
    )
    compliance: float = Field(
        1e-3, gt=0, le=3.0, description="Current compliance of every source, A (B2902 DC maximum 3.03 A)"
    )
    min_pulse_width: float = Field(1e-8, gt=0, description="Shortest programming pulse, s")
    max_pulse_width: float = Field(1e-2, gt=0, le=10, description="Longest programming pulse, s")

    @model_validator(mode="after")
    def _ordered(self) -> SafetyLimits:
        if self.min_pulse_width > self.max_pulse_width:
            raise ValueError(
                f"min_pulse_width = {self.min_pulse_width:g} s must not exceed max_pulse_width = "
                f"{self.max_pulse_width:g} s"
            )
        if self.read_clamp >= self.max_program_voltage:
            raise ValueError("read_clamp must be below max_program_voltage")
        return self

    def check_program(self, volts: float, width: float) -> None:
        """Raise ``LimitError`` unless a programming pulse is within limits."""
        if not abs(volts) <= self.max_program_voltage:
            raise LimitError(
                f"pulse volts = {volts:g} V exceeds max_program_voltage; allowed "
                f"[-{self.max_program_voltage:g}, {self.max_program_voltage:g}] V",
                field="volts",
            )
        if not self.min_pulse_width <= width <= self.max_pulse_width:
            raise LimitError(
                f"pulse width = {width:g} s is out of range; allowed "
                f"[{self.min_pulse_width:g}, {self.max_pulse_width:g}] s",
                field="width",
            )

    def check_read(self, volts: float) -> None:
        """Raise ``LimitError`` unless a read voltage is within the read clamp."""
        if not abs(volts) <= self.read_clamp:
            raise LimitError(
                f"read volts = {volts:g} V exceeds the read clamp; allowed "
                f"[-{self.read_clamp:g}, {self.read_clamp:g}] V",
                field="volts",
            )

    def check_compliance(self, amps: float) -> None:
        if not 0 < amps <= self.compliance:
            raise LimitError(
                f"compliance = {amps:g} A is out of range; allowed (0, {self.compliance:g}] A",
                field="compliance",
            )
