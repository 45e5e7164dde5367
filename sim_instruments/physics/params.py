"""Parameters of the Stanford/PKU v1.0.0 RRAM compact model (Jiang et al., IEEE TED 63(5) 2016).

Every field is in SI units (``Ea`` in eV, as in the released Verilog-A). Names follow the v1.0.0
code where one exists; γ0 and β are split per polarity as the paper's Table I allows.
Equations: the paper (eq. 6 current, eqs. 1-5 gap dynamics, eq. 9 thermal) and the released Verilog-A
rram_v_1_0_0.va (nanoHUB, doi:10.4231/D37H1DN48).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

from labctl.core.errors import ConfigError

#: Constants pinned to the v1.0.0 code comments (not CODATA), so golden numbers reproduce (ref. §2.1 notes).
Q_E = 1.6e-19
K_B = 1.3806503e-23

# field -> (low, high, unit, low_inclusive)
_RANGES: dict[str, tuple[float, float, str, bool]] = {
    "I0": (0.0, math.inf, "A", False),
    "g0": (0.0, math.inf, "m", False),
    "V0": (0.0, math.inf, "V", False),
    "v0": (0.0, math.inf, "m/s", False),
    "Ea": (0.0, 10.0, "eV", True),
    "a0": (0.0, math.inf, "m", False),
    "tox": (0.0, math.inf, "m", False),
    "T0": (0.0, 5000.0, "K", False),
    "Rth": (0.0, math.inf, "K/W", True),
    "F_min": (0.0, math.inf, "V/m", True),
    "gap_min": (0.0, math.inf, "m", False),
    "gap_max": (0.0, math.inf, "m", False),
    "gamma0_set": (0.0, math.inf, "1", False),
    "gamma0_reset": (0.0, math.inf, "1", False),
    "beta_set": (0.0, math.inf, "1", True),
    "beta_reset": (0.0, math.inf, "1", True),
    "alpha": (0.0, 10.0, "1", False),
    "g1": (0.0, math.inf, "m", False),
    "delta_g0": (0.0, math.inf, "m/s", True),
    "T_crit": (0.0, 5000.0, "K", False),
    "T_smth": (0.0, 5000.0, "K", False),
    "noise_step": (0.0, math.inf, "s", False),
}


@dataclass(frozen=True)
class StanfordParams:
    """One cell's model parameters (defaults = the released v1.0.0 Verilog-A, ``rram_v_1_0_0.va``).

    Current ``I = I0·exp(-g/g0)·sinh(V/V0)``; temperature ``T = T0 + |V·I|·Rth`` (if ``self_heating``);
    field enhancement ``γ = γ0 − β·(g/g1)^α`` per polarity, gated to 0 when ``γ|V|/tox < F_min``;
    gap velocity ``dg/dt = −v0·exp(−q·Ea/(kB·T))·sinh(γ·a0/tox·q·V/(kB·T))`` plus the stochastic term
    ``χ·delta_g0/(1+exp((T_crit−T)/T_smth))`` (drawn per ``noise_step``) when c2c noise is on.
    """

    I0: float = 1e-3
    """current prefactor, A"""
    g0: float = 0.25e-9
    """gap coefficient of the I-V, m"""
    V0: float = 0.25
    """voltage coefficient of the I-V, V"""
    v0: float = 10.0
    """escape velocity (code ``Vel0``), m/s"""
    Ea: float = 0.6
    """activation energy, eV"""
    a0: float = 0.25e-9
    """hopping-site spacing, m"""
    tox: float = 12e-9
    """switching-oxide thickness, m"""
    T0: float = 298.0
    """ambient temperature (code ``T_ini``), K"""
    Rth: float = 2.1e3
    """equivalent thermal resistance, K/W"""
    F_min: float = 1.4e9
    """minimum field that opens the gap-change gate (code only), V/m"""
    gap_min: float = 2e-10
    """lower gap bound (LRS), m"""
    gap_max: float = 17e-10
    """upper gap bound (HRS), m"""
    gamma0_set: float = 16.0
    """field-enhancement offset for V >= 0, 1"""
    gamma0_reset: float = 16.0
    """field-enhancement offset for V < 0 (ignored, 16 used, when ``strict_v1``), 1"""
    beta_set: float = 0.8
    """field-enhancement slope for V >= 0, 1"""
    beta_reset: float = 0.8
    """field-enhancement slope for V < 0, 1"""
    alpha: float = 3.0
    """exponent of g in γ (hard-coded 3 in v1.0.0), 1"""
    g1: float = 1e-9
    """gap normaliser in γ, m"""
    delta_g0: float = 0.02
    """stochastic gap-velocity amplitude (code ``deltaGap0``; enters as m/s), m/s"""
    T_crit: float = 450.0
    """noise threshold temperature, K"""
    T_smth: float = 500.0
    """noise sigmoid width, K"""
    noise_step: float = 1e-9
    """fixed noise step h_n (code ``time_step``): one χ per h_n; spread scales as sqrt(t·h_n), s"""
    self_heating: bool = True
    """use T = T0 + |V·I|·Rth; False gives T = T0 (the user-guide Fig. 5 setting)"""
    strict_v1: bool = False
    """v1.0.0 code quirks: RESET γ0 = 16 literal and integrator windup beyond the gap bounds"""
    source: str = "Stanford/PKU RRAM v1.0.0 Verilog-A defaults (nanoHUB doi:10.4231/D37H1DN48)"
    """where the numbers come from"""

    def __post_init__(self) -> None:
        for name, (low, high, unit, low_incl) in _RANGES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError.invalid(name, value, f"a finite number in {unit}")
            if (value < low if low_incl else value <= low) or value > high:
                bracket = "[" if low_incl else "("
                hi = "+inf" if math.isinf(high) else f"{high:g}"
                raise ConfigError(
                    f"{name} = {value!r} is out of range; allowed {bracket}{low:g}, {hi}] {unit}", field=name
                )
        if self.gap_min >= self.gap_max:
            raise ConfigError(
                f"gap_min = {self.gap_min!r} must be below gap_max = {self.gap_max!r} (m); bounds inverted",
                field="gap_min",
            )
        for pol in ("set", "reset"):
            g0_, b_ = getattr(self, f"gamma0_{pol}"), getattr(self, f"beta_{pol}")
            if b_ * (self.gap_min / self.g1) ** self.alpha >= g0_:
                raise ConfigError(
                    f"beta_{pol} = {b_!r} makes γ <= 0 already at gap_min (gate always closed); "
                    f"allowed [0, {g0_ / (self.gap_min / self.g1) ** self.alpha:g})",
                    field=f"beta_{pol}",
                )

    @property
    def gamma0_reset_eff(self) -> float:
        """The RESET γ0 actually used: 16 in ``strict_v1`` mode (the v1.0.0 literal), else ``gamma0_reset``."""
        return 16.0 if self.strict_v1 else self.gamma0_reset

    def with_(self, **changes: Any) -> StanfordParams:
        """A copy with some fields changed (validated)."""
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of every field (for run snapshots)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    # --- closed forms (reference §1.8) -------------------------------------------------------------
    def gamma(self, g: float, v: float) -> float:
        """Field-enhancement factor γ(g) for the polarity of ``v`` (no gate)."""
        if v >= 0:
            return float(self.gamma0_set - self.beta_set * (g / self.g1) ** self.alpha)
        return float(self.gamma0_reset_eff - self.beta_reset * (g / self.g1) ** self.alpha)

    def threshold_voltage(self, g: float, polarity: int = 1) -> float:
        """|V| at which the F_min gate opens at gap ``g``: F_min·tox/γ(g) (inf if γ <= 0)."""
        gam = self.gamma(g, 1.0 if polarity >= 0 else -1.0)
        return math.inf if gam <= 0 else self.F_min * self.tox / gam

    def reset_limit(self, v: float) -> float:
        """RESET self-limit g*(V) = g1·((γ0_reset − F_min·tox/|V|)/β_reset)^(1/α), clipped to [gap_min, gap_max]."""
        if v == 0:
            return self.gap_min
        num = self.gamma0_reset_eff - self.F_min * self.tox / abs(v)
        if num <= 0:
            return self.gap_min
        if self.beta_reset == 0:
            return self.gap_max
        return float(min(max(self.g1 * (num / self.beta_reset) ** (1.0 / self.alpha), self.gap_min), self.gap_max))

    def current(self, g: float, v: float) -> float:
        """Cell current I(g, V), A."""
        return self.I0 * math.exp(-g / self.g0) * math.sinh(v / self.V0)

    def conductance(self, g: float, v_read: float = 0.1) -> float:
        """Chord conductance I(g, Vr)/Vr, S."""
        return self.current(g, v_read) / v_read

    def gap_for_conductance(self, G: float, v_read: float = 0.1) -> float:
        """Inverse of :meth:`conductance`: g = g0·ln(I0·sinh(Vr/V0)/(Vr·G)), m."""
        return self.g0 * math.log(self.I0 * math.sinh(v_read / self.V0) / (v_read * G))
