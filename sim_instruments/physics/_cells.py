"""Per-cell model kernels (pure functions of the state): current, temperature, γ, gap velocity.

``CellParams`` holds the model constants in the form the kernels use, each either a float (shared by every
cell) or a backend array (one value per cell, e.g. with device-to-device spread).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sim_instruments.physics._backend import Array
from sim_instruments.physics.params import K_B, Q_E, StanfordParams

Num = Any  # float or backend array


@dataclass(frozen=True)
class CellParams:
    """Kernel constants, derived once from :class:`StanfordParams` (scalars) or per cell (arrays)."""

    I0: Num
    g0: Num
    V0: Num
    v0: Num
    A_ea: Num  # q·Ea/kB, K
    c_sw: float  # a0/tox·q/kB, K/V
    Fmin_tox: float  # F_min·tox, V
    gmin: float
    gmax: float
    gs0: Num  # γ0 for V >= 0
    gr0: Num  # γ0 for V < 0
    bs: Num
    br: Num
    alpha: float
    g1: float
    T0: float
    Rth: float
    heating: bool
    dg0: float
    T_crit: float
    T_smth: float
    noise_step: float
    windup: bool
    gamma0_max: float  # largest γ0 over cells and polarities (global gate bound)

    @classmethod
    def from_params(cls, p: StanfordParams, T0: float | None = None, **per_cell: Num) -> CellParams:
        """Scalars from ``p``; ``per_cell`` overrides model fields (I0, g0, V0, v0, Ea, gamma0_*, beta_*)."""

        def get(k: str) -> Num:
            return per_cell.get(k, getattr(p, k))

        gr0 = 16.0 if p.strict_v1 else get("gamma0_reset")
        gmax0 = max(_max(get("gamma0_set")), _max(gr0))
        return cls(
            I0=get("I0"), g0=get("g0"), V0=get("V0"), v0=get("v0"), A_ea=Q_E * get("Ea") / K_B,
            c_sw=p.a0 / p.tox * Q_E / K_B, Fmin_tox=p.F_min * p.tox, gmin=p.gap_min, gmax=p.gap_max,
            gs0=get("gamma0_set"), gr0=gr0, bs=get("beta_set"), br=get("beta_reset"), alpha=p.alpha, g1=p.g1,
            T0=p.T0 if T0 is None else T0, Rth=p.Rth, heating=p.self_heating and p.Rth > 0, dg0=p.delta_g0,
            T_crit=p.T_crit, T_smth=p.T_smth, noise_step=p.noise_step, windup=p.strict_v1, gamma0_max=gmax0,
        )

    def take(self, idx: Array, column: bool = False) -> CellParams:
        """The constants of the cells ``idx`` (per-cell arrays indexed, scalars kept); ``column`` gives (n, 1)."""
        out = object.__new__(CellParams)  # a field-for-field copy (dataclasses.replace re-runs __init__: slow)
        d = out.__dict__
        d.update(self.__dict__)
        d.pop("_jit_per_cell", None)  # a cache of the compiled integrator's, for these cells only
        for n in _PER_CELL:
            a = d[n]
            if not isinstance(a, float | int):
                d[n] = a[idx][:, None] if column else a[idx]
        return out


_PER_CELL = ("I0", "g0", "V0", "v0", "A_ea", "gs0", "gr0", "bs", "br")  # fields that may be per-cell arrays


def _max(x: Num) -> float:
    return float(x) if isinstance(x, float | int) else float(x.max())


def gap_power(cp: CellParams, xp: Any, g: Array) -> Array:
    """(g/g1)^α with the cheap forms for α = 3, 1, 0.5, 2."""
    x = g * (1.0 / cp.g1)
    if cp.alpha == 3.0:
        return x * x * x
    if cp.alpha == 1.0:
        return x
    if cp.alpha == 0.5:
        return xp.sqrt(x)
    if cp.alpha == 2.0:
        return x * x
    return xp.power(x, cp.alpha)


def current(cp: CellParams, xp: Any, g: Array, v: Array) -> Array:
    """I(g, V) = I0·exp(−g/g0)·sinh(V/V0), A (independent of T)."""
    return cp.I0 * xp.exp(-g / cp.g0) * xp.sinh(v / cp.V0)


def limited_voltage(cp: CellParams, xp: Any, g: Array, v: Array, icc: Array) -> Array:
    """The cell voltage with its current held at ``icc`` (A, > 0) where ``v`` would drive more: a source in
    compliance folds back until I(g, V) = icc, i.e. |V| <= V0·asinh(icc / (I0·exp(−g/g0)))."""
    x = xp.minimum(icc / (cp.I0 * xp.exp(-g / cp.g0)), 1e150)  # beyond: no voltage of interest reaches it
    vmax = cp.V0 * xp.log(x + xp.sqrt(x * x + 1.0))
    return xp.where(xp.abs(v) > vmax, xp.sign(v) * vmax, v)


def didv(cp: CellParams, xp: Any, g: Array, v: Array) -> Array:
    """dI/dV = I0·exp(−g/g0)·cosh(V/V0)/V0, S."""
    return cp.I0 / cp.V0 * xp.exp(-g / cp.g0) * xp.cosh(v / cp.V0)


def temperature(cp: CellParams, xp: Any, g: Array, v: Array) -> Array:
    """T = T0 + |V·I|·Rth (instantaneous, v1.0.0 has no thermal capacitance), K."""
    if not cp.heating:
        return cp.T0 + 0.0 * g
    return cp.T0 + xp.abs(v * current(cp, xp, g, v)) * cp.Rth


def gamma0_beta(cp: CellParams, xp: Any, v: Array) -> tuple[Array, Array]:
    """(γ0, β) for the polarity of each cell voltage."""
    pos = v >= 0
    return xp.where(pos, cp.gs0, cp.gr0), xp.where(pos, cp.bs, cp.br)


def gate_open(cp: CellParams, xp: Any, g: Array, v: Array) -> Array:
    """The F_min gate: γ(g)·|V|/tox >= F_min (open at equality)."""
    gam0, bet = gamma0_beta(cp, xp, v)
    return (gam0 - bet * gap_power(cp, xp, g)) * xp.abs(v) >= cp.Fmin_tox


def velocity(cp: CellParams, xp: Any, g: Array, v: Array) -> Array:
    """Deterministic dg/dt (gate applied), m/s: −v0·exp(−qEa/kT)·sinh(γ·a0/tox·qV/kT)."""
    gam0, bet = gamma0_beta(cp, xp, v)
    gam = gam0 - bet * gap_power(cp, xp, g)
    inv_t = 1.0 / temperature(cp, xp, g, v)
    r = -cp.v0 * xp.exp(-cp.A_ea * inv_t) * xp.sinh(gam * (cp.c_sw * v) * inv_t)
    return xp.where(gam * xp.abs(v) >= cp.Fmin_tox, r, 0.0)


def reset_limit(cp: CellParams, xp: Any, v: Array, gam0: Array, bet: Array) -> Array:
    """RESET self-limit g*(V) (the gap where the gate closes), clipped to [gmin, gmax]."""
    num = gam0 - cp.Fmin_tox / xp.abs(v)
    ratio = xp.maximum(num, 0.0) / xp.maximum(bet, 1e-300)
    gstar = cp.g1 * xp.power(ratio, 1.0 / cp.alpha)
    return xp.clip(gstar, cp.gmin, cp.gmax)


def noise_sigmoid(cp: CellParams, xp: Any, temp: Array) -> Array:
    """f(T) = 1/(1 + exp((T_crit − T)/T_smth)), the temperature gate of the stochastic term."""
    return 1.0 / (1.0 + xp.exp((cp.T_crit - temp) / cp.T_smth))
