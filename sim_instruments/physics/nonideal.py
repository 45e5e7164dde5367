"""Non-idealities of a simulated RRAM array; every one is off by default."""

from __future__ import annotations

import math
from dataclasses import dataclass

from labctl.core.errors import ConfigError

#: model parameters a device-to-device spread may act on
D2D_FIELDS = ("I0", "g0", "V0", "v0", "gamma0_set", "gamma0_reset", "beta_set", "beta_reset", "Ea")


@dataclass(frozen=True)
class NonIdealities:
    """What makes a simulated chip less ideal than the compact model. All off by default.

    * ``d2d``: device-to-device spread, relative std of a per-cell log-normal factor on each of ``d2d_fields``
      (drawn once at construction from the array's seed).
    * ``c2c``: cycle-to-cycle noise, the model's own stochastic gap term (``model_switch = 1``): per noise step
      ``StanfordParams.noise_step`` a gap increment ``χ·delta_g0·f(T)·h_n``; aggregated exactly per sub-interval.
      Acts only while a cell is biased unless ``c2c_at_zero_bias`` (the v1.0.0 code also acts at V = 0).
      With ``c2c_switching_only`` it acts only on cells whose F_min gate is open, i.e. while the cell switches:
      cycle-to-cycle variability of programming, without a random walk of the state during sub-threshold reads
      and half-select biases (the behaviour of real RRAM at the read clamp).
    * ``read_noise``: relative std of Gaussian noise on every measured current (crossbar line currents,
      ``RRAMArray.conductance``); not on ``RRAMArray.current``, which is the noiseless I-V.
    * ``relaxation``: post-programming gap drift (m per unit of ln time) during ``idle``:
      ``Δg = relaxation·(1 + relaxation_spread·χ)·[ln(1+t1/τ) − ln(1+t0/τ)]``, t = time since the cell's last
      gap change by a pulse, τ = ``relaxation_tau``; positive drifts toward HRS (retention loss of LRS).
    * ``stuck_on`` / ``stuck_off``: fraction of cells pinned at gap_min / gap_max (random, from the seed).
    * ``ambient_T``: ambient temperature, K, replacing ``StanfordParams.T0`` (None keeps T0).
    * ``initial_state``: where formed cells start: ``"lrs"`` (gap_min, the compact model's initial state, a cell
      just formed without a RESET) or ``"hrs"`` (gap_max: a chip delivered formed and RESET, as labs receive and
      store arrays; stuck cells stay pinned either way).
    * ``virgin``: fraction of cells that start virgin (never formed; 1.0 = a fresh chip). A virgin cell conducts
      like an insulator, ``I = virgin_g·virgin_v0·sinh(V/virgin_v0)`` (0.3 nA at a 0.1 V read, tens of nA
      at forming voltages with the defaults), does not switch, and
      forms when its |V| reaches its forming voltage, drawn per cell from N(``form_v_mean``, ``form_v_std``) V.
      Forming sets the first filament from the compliance I_cc of the source driving the cell: small-signal
      conductance I_cc / ``form_v_knee`` (R_on·I_cc ≈ constant); I_cc >= ``overform_current`` (or no
      compliance) over-forms it: stuck ON at gap_min, never RESETs. Cells that never form stay virgin (OFF).
    """

    d2d: float = 0.0
    d2d_fields: tuple[str, ...] = ("I0", "g0", "gamma0_set", "gamma0_reset")
    c2c: bool = False
    c2c_at_zero_bias: bool = False
    c2c_switching_only: bool = False
    read_noise: float = 0.0
    relaxation: float = 0.0
    relaxation_tau: float = 1e-3
    relaxation_spread: float = 0.0
    stuck_on: float = 0.0
    stuck_off: float = 0.0
    ambient_T: float | None = None
    initial_state: str = "lrs"
    virgin: float = 0.0
    virgin_g: float = 3e-9
    virgin_v0: float = 1.0
    form_v_mean: float = 2.4
    form_v_std: float = 0.25
    form_v_knee: float = 0.4
    overform_current: float = 5e-4

    def __post_init__(self) -> None:
        checks = {
            "d2d": (self.d2d, 0.0, 1.0),
            "read_noise": (self.read_noise, 0.0, 1.0),
            "relaxation": (self.relaxation, -1e-8, 1e-8),
            "relaxation_tau": (self.relaxation_tau, 1e-15, 1e9),
            "relaxation_spread": (self.relaxation_spread, 0.0, 10.0),
            "stuck_on": (self.stuck_on, 0.0, 1.0),
            "stuck_off": (self.stuck_off, 0.0, 1.0),
            "virgin": (self.virgin, 0.0, 1.0),
            "virgin_g": (self.virgin_g, 1e-15, 1e-5),
            "virgin_v0": (self.virgin_v0, 0.01, 10.0),
            "form_v_mean": (self.form_v_mean, 0.1, 20.0),
            "form_v_std": (self.form_v_std, 0.0, 5.0),
            "form_v_knee": (self.form_v_knee, 0.01, 5.0),
            "overform_current": (self.overform_current, 1e-9, 1.0),
        }
        for name, (value, lo, hi) in checks.items():
            if not isinstance(value, (int, float)) or not math.isfinite(value) or not lo <= value <= hi:
                raise ConfigError.out_of_range(name, value, lo, hi)
        if self.c2c_at_zero_bias and self.c2c_switching_only:
            raise ConfigError.invalid(
                "c2c_switching_only", True, "false when c2c_at_zero_bias is true (noise at 0 V cannot be gated)"
            )
        if self.initial_state not in ("lrs", "hrs"):
            raise ConfigError.invalid("initial_state", self.initial_state, "lrs, hrs")
        if self.stuck_on + self.stuck_off > 1.0:
            raise ConfigError.out_of_range("stuck_on + stuck_off", self.stuck_on + self.stuck_off, 0.0, 1.0)
        if self.ambient_T is not None and not 0.0 < self.ambient_T <= 5000.0:
            raise ConfigError.out_of_range("ambient_T", self.ambient_T, 0.0, 5000.0, "K")
        for f in self.d2d_fields:
            if f not in D2D_FIELDS:
                raise ConfigError.invalid("d2d_fields", f, ", ".join(D2D_FIELDS))

    @property
    def any_noise(self) -> bool:
        """True when results depend on the random generator."""
        return bool(self.d2d or self.c2c or self.read_noise or self.relaxation_spread
                    or self.stuck_on or self.stuck_off or self.virgin)
