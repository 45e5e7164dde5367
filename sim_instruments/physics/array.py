"""``RRAMArray``: a vectorised array of Stanford/PKU cells with per-cell state and per-cell parameter spread."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from labctl.core.errors import ConfigError
from sim_instruments.physics._backend import Array, make_backend
from sim_instruments.physics._cells import (
    CellParams,
    current,
    gap_power,
    limited_voltage,
    noise_sigmoid,
    temperature,
)
from sim_instruments.physics._integrate import Bias, advance, bias
from sim_instruments.physics.nonideal import NonIdealities
from sim_instruments.physics.params import StanfordParams

_MAX_NOISE_CHUNKS = 8


@dataclass(frozen=True)
class _Subset:
    """Cells that a constant bias may switch: their indices, constants and voltages."""

    idx: Array
    cp: CellParams
    v: Array
    icc: Array | None  # current limit per cell where the compliance can bind (else None), A
    fixed: Bias  # what the constant voltages fix for each cell (computed once per hold, reused by its chunks)


class RRAMArray:
    """An array of RRAM cells (Stanford/PKU v1.0.0 model) with state ``gap`` (m) per cell.

    ``backend`` is "numpy" or "torch" (``device`` "cpu"/"cuda"); arrays returned are of that backend.
    ``dg_max`` is the substep bound of the Δg-limited integrator, m (reference §3: 1e-12 for tests).
    Cell voltages are V(TE) − V(BE): positive SETs (gap shrinks), negative RESETs.
    """

    def __init__(
        self,
        shape: int | tuple[int, ...],
        params: StanfordParams,
        *,
        seed: int | None = None,
        backend: str = "numpy",
        nonideal: NonIdealities | None = None,
        device: str = "cpu",
        dg_max: float = 1e-12,
    ) -> None:
        shp = (shape,) if isinstance(shape, int) else tuple(int(s) for s in shape)
        if not shp or any(s < 1 for s in shp):
            raise ConfigError.invalid("shape", shape, "positive integers, e.g. (64, 64)")
        if not isinstance(params, StanfordParams):
            raise ConfigError.invalid("params", type(params).__name__, "a StanfordParams")
        if not 1e-15 <= dg_max <= 1e-10:
            raise ConfigError.out_of_range("dg_max", dg_max, 1e-15, 1e-10, "m")
        self.shape: tuple[int, ...] = shp
        self.size = math.prod(shp)
        self.params = params
        self.nonideal = nonideal or NonIdealities()
        self.xp = make_backend(backend, device)
        self.backend = self.xp.name
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.dg_max = dg_max
        self.time = 0.0
        ni = self.nonideal
        per_cell: dict[str, Any] = {}
        if ni.d2d > 0:
            for f in ni.d2d_fields:
                factor = np.exp(ni.d2d * self.rng.standard_normal(self.size))
                base = 16.0 if (f == "gamma0_reset" and params.strict_v1) else getattr(params, f)
                per_cell[f] = self.xp.asarray(base * factor)
        if ni.virgin > 0 and "V0" not in per_cell:  # virgin cells have their own I-V shape: V0 per cell
            per_cell["V0"] = self.xp.asarray(np.full(self.size, params.V0))
        self.cells = CellParams.from_params(params, T0=ni.ambient_T, **per_cell)
        self._v0_formed = self.xp.to_numpy(self.cells.V0).copy() if ni.virgin > 0 else None
        u = self.rng.random(self.size) if (ni.stuck_on or ni.stuck_off) else np.ones(self.size)
        self.stuck_on: np.ndarray[Any, np.dtype[np.bool_]] = (u < ni.stuck_on).reshape(shp)
        self.stuck_off: np.ndarray[Any, np.dtype[np.bool_]] = ((u >= ni.stuck_on) & (u < ni.stuck_on + ni.stuck_off)
                                                               ).reshape(shp)
        self._son = self.xp.index(np.flatnonzero(self.stuck_on))
        self._soff = self.xp.index(np.flatnonzero(self.stuck_off))
        self._x = self.xp.full(self.size, params.gap_max if ni.initial_state == "hrs" else params.gap_min)
        # virgin cells (never formed) and their forming voltages; drawn only when enabled (keeps other streams)
        self.virgin: np.ndarray[Any, np.dtype[np.bool_]] = np.zeros(shp, bool)
        self.v_form: np.ndarray[Any, Any] = np.full(shp, np.inf)
        self.overformed: np.ndarray[Any, np.dtype[np.bool_]] = np.zeros(shp, bool)
        self._held: np.ndarray[Any, np.dtype[np.bool_]] = np.zeros(shp, bool)  # formed during the present bias
        #: per-cell current compliance of the source driving each cell (A; None: no limit), set by the crossbar
        self.compliance: np.ndarray[Any, Any] | None = None
        #: per-cell current limit in the dynamics (A; None: none): the compliance less what the cell's lines feed
        #: to other cells at the start of the present bias (set by the crossbar)
        self.headroom: np.ndarray[Any, Any] | None = None
        if ni.virgin > 0:
            fresh = (self.rng.random(self.size) < ni.virgin) & ~(self.stuck_on | self.stuck_off).ravel()
            self.virgin = fresh.reshape(shp)
            self.v_form = np.where(fresh, ni.form_v_mean + ni.form_v_std * self.rng.standard_normal(self.size),
                                   np.inf).reshape(shp)
            self._x[self.xp.index(np.flatnonzero(fresh))] = params.gap_max
            self.cells.V0[self.xp.index(np.flatnonzero(fresh))] = ni.virgin_v0
        self._age = np.zeros(self.size)  # time since each cell's gap last changed by a pulse, s
        self._pref: Array | None = None
        self._pin()

    # --- state ---------------------------------------------------------------------------------------
    @property
    def gap(self) -> Array:
        """Tunnelling gap per cell, m (the clamped output; a copy)."""
        return self.xp.clip(self._x, self.params.gap_min, self.params.gap_max).reshape(self.shape)

    @gap.setter
    def gap(self, value: Any) -> None:
        g = self._flat(value) + 0.0  # own copy: the state is updated in place
        lo, hi = float(self.xp.to_numpy(g).min()), float(self.xp.to_numpy(g).max())
        p = self.params
        ok = (lo > 0) if p.strict_v1 else (lo >= p.gap_min * (1 - 1e-9) and hi <= p.gap_max * (1 + 1e-9))
        if not ok or not math.isfinite(hi):
            bounds = (0.0, math.inf) if p.strict_v1 else (p.gap_min, p.gap_max)
            raise ConfigError.out_of_range("gap", f"[{lo:g}, {hi:g}]", bounds[0], bounds[1], "m")
        self._x = g if p.strict_v1 else self.xp.clip(g, p.gap_min, p.gap_max)
        self._pref = None
        self._pin()

    @property
    def state(self) -> Array:
        """Hidden integrator state, m (differs from ``gap`` only with windup in ``strict_v1`` mode)."""
        return (self._x + 0.0).reshape(self.shape)

    @property
    def age(self) -> np.ndarray[Any, Any]:
        """Time since each cell's gap was last changed by a pulse, s."""
        return self._age.reshape(self.shape).copy()

    def _flat(self, v: Any) -> Array:
        xp = self.xp
        a = xp.asarray(v)
        if a.shape == self.shape:
            return a.reshape(self.size)
        try:
            return (a + xp.zeros(self.size).reshape(self.shape)).reshape(self.size)
        except (ValueError, RuntimeError) as exc:
            raise ConfigError.invalid("v", f"shape {tuple(a.shape)}", f"broadcastable to {self.shape}") from exc

    def _pin(self) -> None:
        if self._son.shape[0]:
            self._x[self._son] = self.params.gap_min
        if self._soff.shape[0]:
            self._x[self._soff] = self.params.gap_max

    def get_state(self) -> dict[str, Any]:
        """Everything pulses, reads, forming and idling change (integrator state, ages, forming state, time, the
        random generator), as NumPy arrays and plain values: with :meth:`set_state` a chip outlives its process."""
        st: dict[str, Any] = {"x": np.array(self.xp.to_numpy(self._x), dtype=np.float64), "age": self._age.copy(),
                              "virgin": self.virgin.ravel().copy(), "overformed": self.overformed.ravel().copy(),
                              "stuck_on": self.stuck_on.ravel().copy(), "time": float(self.time),
                              "rng": self.rng.bit_generator.state}
        if self._v0_formed is not None:  # forming changes a cell's V0
            st["V0"] = np.array(self.xp.to_numpy(self.cells.V0), dtype=np.float64)
        return st

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`get_state` of an array of the same shape, parameters and seed."""
        x = np.asarray(state["x"], dtype=np.float64)
        if x.shape != (self.size,):
            raise ConfigError.invalid("state.x", f"shape {x.shape}", f"({self.size},)")
        self._x = self.xp.asarray(x.copy())
        self._age = np.asarray(state["age"], dtype=np.float64).copy()
        for name in ("virgin", "overformed", "stuck_on"):
            if name in state:
                getattr(self, name).ravel()[:] = np.asarray(state[name], dtype=bool)
        self._son = self.xp.index(np.flatnonzero(self.stuck_on))
        self._held[:] = False  # a restored chip is unbiased
        if "V0" in state and self._v0_formed is not None:
            self.cells.V0[:] = self.xp.asarray(np.asarray(state["V0"], dtype=np.float64))
        self.time = float(state["time"])
        self.rng.bit_generator.state = state["rng"]
        self._pref = None
        self._pin()

    # --- measurements (no state change) -------------------------------------------------------------
    def current(self, v: Any) -> Array:
        """Cell currents I(g, V) for cell voltages ``v`` (broadcast to the shape), A. Noiseless, no state change."""
        return (self.prefactor() * self.xp.sinh(self._flat(v) / self.cells.V0)).reshape(self.shape)

    def conductance(self, v_read: float = 0.1) -> Array:
        """Chord conductance I(g, Vr)/Vr per cell, S (with read noise if enabled)."""
        if v_read == 0:
            raise ConfigError.invalid("v_read", v_read, "a nonzero read voltage")
        g = self.current(v_read) / v_read
        return self._read_noise(g)

    def temperature(self, v: Any) -> Array:
        """Cell temperatures T0 + |V·I|·Rth under cell voltages ``v``, K."""
        return temperature(self.cells, self.xp, self.gap.reshape(self.size), self._flat(v)).reshape(self.shape)

    def _read_noise(self, a: Array) -> Array:
        s = self.nonideal.read_noise
        if s == 0:
            return a
        return a * (1.0 + s * self.xp.normal(self.rng, a.numel() if hasattr(a, "numel") else a.size).reshape(
            a.shape))

    # --- dynamics -----------------------------------------------------------------------------------
    def apply(self, v: Any, duration: float) -> None:
        """Integrate every cell under constant cell voltages ``v`` (V, broadcast) for ``duration`` seconds."""
        self.begin_bias()
        self._apply_flat(self._flat(v), duration)

    def begin_bias(self) -> None:
        """A new bias starts: cells formed under the previous one are no longer held at their compliance."""
        if self._held.any():
            self._held[:] = False

    def _apply_flat(self, v: Array, duration: float) -> None:
        if not (isinstance(duration, float | int) and math.isfinite(duration) and duration >= 0):
            raise ConfigError.out_of_range("duration", duration, 0.0, None, "s")
        if duration == 0:
            return
        self._age += duration
        xp, cp = self.xp, self.cells
        if self.virgin.any() or self._held.any():
            v = self._form(v)
        # exact global gate bound: gamma <= gamma0_max, so |V| < F_min*tox/gamma0_max can never open the gate.
        # v is constant over the call: the candidate cells and their constants are taken once, not per chunk.
        cand = xp.flatnonzero(xp.abs(v) >= cp.Fmin_tox / cp.gamma0_max)
        sub = self._subset(cand, v[cand]) if cand.shape[0] else None
        if self.nonideal.c2c:
            if sub is None and self.nonideal.c2c_switching_only:
                self.time += duration  # no cell can switch: neither term acts
                return
            nch = int(min(max(math.ceil(duration / cp.noise_step), 1), _MAX_NOISE_CHUNKS))
            for _ in range(nch):
                self._deterministic(sub, duration / nch)
                if not self._noise(v, sub, duration / nch) and self.nonideal.c2c_switching_only and not cp.windup:
                    break  # every gate closed after the drift and no noise: the remaining chunks change nothing
        else:
            self._deterministic(sub, duration)
        self.time += duration

    def _subset(self, idx: Array, v: Array) -> _Subset:
        cp, icc = self.cells.take(idx), self._limits(idx, v)
        return _Subset(idx, cp, v, icc, bias(cp, self.xp, v, icc))

    def _limits(self, idx: Array, v: Array) -> Array | None:
        """The current limit (headroom) of cells ``idx`` under voltages ``v`` (A), or None where no cell of them
        could reach it (even fully ON, I0·exp(−gap_min/g0)·sinh(|V|/V0) stays below): the dynamics run unlimited."""
        if self.headroom is None:
            return None
        xp, cp = self.xp, self.cells.take(idx)
        icc = xp.asarray(np.asarray(self.headroom, dtype=np.float64).ravel()[xp.to_numpy(idx)])
        i_max = current(cp, xp, self.params.gap_min + 0.0 * v, xp.abs(v))
        if not xp.any(icc < i_max):
            return None
        return xp.minimum(icc, 1e300)

    def limited(self, v: Any) -> Array:
        """Cell voltages ``v`` (flat) as the cells see them at the present state with their sources'
        compliance: where a cell would draw more than its limit, the fold-back voltage of that limit."""
        if self.headroom is None:
            return v
        icc = self.xp.asarray(np.asarray(self.headroom, dtype=np.float64).ravel())
        return limited_voltage(self.cells, self.xp, self.gap.reshape(self.size), v, self.xp.minimum(icc, 1e300))

    def _store(self, idx: Array, x: Array) -> None:
        """Write new states of cells ``idx``; cells whose gap changed restart their relaxation clock."""
        xp = self.xp
        changed = xp.to_numpy(x != self._x[idx])
        self._x[idx] = x
        self._pref = None
        self._age[xp.to_numpy(idx)[changed]] = 0.0
        self._pin()

    def _deterministic(self, sub: _Subset | None, tau: float) -> None:
        if sub is None:
            return
        xp = self.xp
        x = advance(sub.cp, xp, self._x[sub.idx], sub.v, xp.full(sub.idx.shape[0], tau), self.dg_max, sub.icc,
                    sub.fixed)
        self._store(sub.idx, x)

    def _noise(self, v: Array, sub: _Subset | None, tau: float) -> bool:
        """The stochastic gap term for ``tau`` s. Returns True when some cell was open to it (a gate open with
        ``c2c_switching_only``), False when no cell was: then the drift cannot have moved any either."""
        xp, cp = self.xp, self.cells
        if self.nonideal.c2c_switching_only:
            if sub is None:
                return False
            g_sub = xp.clip(self._x[sub.idx], cp.gmin, cp.gmax)
            v_sub = sub.v if sub.icc is None else limited_voltage(sub.cp, xp, g_sub, sub.v, sub.icc)
            f = sub.fixed  # the gate of gate_open, with the hold's (γ0, β) (the limit keeps each polarity)
            is_open = (f.gam0 - f.bet * gap_power(cp, xp, g_sub)) * xp.abs(v_sub) >= cp.Fmin_tox
            if cp.dg0 == 0 or not xp.any(is_open):
                return xp.any(is_open)
            sel = sub.idx[is_open]
            temp = temperature(sub.cp, xp, g_sub, v_sub)[is_open]
        else:
            if cp.dg0 == 0:
                return True
            sel = xp.iarange(self.size) if self.nonideal.c2c_at_zero_bias else xp.flatnonzero(v != 0)
            if sel.shape[0] == 0:
                return False
            temp = temperature(cp.take(sel), xp, xp.clip(self._x[sel], cp.gmin, cp.gmax), v[sel])
        sigma = cp.dg0 * noise_sigmoid(cp, xp, temp) * math.sqrt(min(cp.noise_step, tau) * tau)
        x = self._x[sel] + sigma * xp.normal(self.rng, sel.shape[0])
        self._store(sel, x if cp.windup else xp.clip(x, cp.gmin, cp.gmax))
        return True

    def prefactor(self) -> Array:
        """I0·exp(−g/g0) per cell (flat, cached until the state changes), A; a virgin cell's is
        ``virgin_g``·V0 (small-signal conductance ``virgin_g``; V0 of a virgin cell is ``virgin_v0``)."""
        if self._pref is None:
            pref = self.cells.I0 * self.xp.exp(-self.gap.reshape(self.size) / self.cells.g0)
            if self.virgin.any():
                idx = np.flatnonzero(self.virgin)
                v0 = self.cells.V0 if isinstance(self.cells.V0, float | int) else self.cells.V0[self.xp.index(idx)]
                pref[self.xp.index(idx)] = self.nonideal.virgin_g * v0
            self._pref = pref
        return self._pref

    def _form(self, v: Array) -> Array:
        """Form the virgin cells whose |V| reaches their forming voltage (filament strength from the compliance
        of their source); returns ``v`` with every virgin or just-formed cell at 0 V for the dynamics (a virgin
        cell does not switch; a forming one is held at its compliance for the rest of this bias)."""
        xp, ni = self.xp, self.nonideal
        vn = xp.to_numpy(v).reshape(self.shape)
        now = self.virgin & (np.abs(vn) >= self.v_form)
        hold = self.virgin | self._held | now
        if now.any():
            idx = np.flatnonzero(now)
            icc = np.full(idx.size, np.inf) if self.compliance is None else np.asarray(self.compliance).ravel()[idx]
            over = ~(icc < ni.overform_current)
            g_ss = icc / ni.form_v_knee  # small-signal conductance of the first filament, S
            i0 = self._cell_values(self.cells.I0, idx)
            g0 = self._cell_values(self.cells.g0, idx)
            assert self._v0_formed is not None
            v0 = self._v0_formed[idx]
            self.cells.V0[xp.index(idx)] = xp.asarray(v0)  # a formed cell takes the model's I-V shape
            with np.errstate(divide="ignore"):
                gap = g0 * np.log(i0 / (np.maximum(g_ss, 1e-300) * v0))
            gap = np.clip(gap, self.params.gap_min, self.params.gap_max)
            gap[over] = self.params.gap_min
            self._x[xp.index(idx)] = xp.asarray(gap)
            self.virgin.ravel()[idx] = False
            self.overformed.ravel()[idx[over]] = True
            self._held.ravel()[idx] = True
            self.stuck_on.ravel()[idx[over]] = True
            self._son = xp.index(np.flatnonzero(self.stuck_on))
            self._age[idx] = 0.0
            self._pref = None
            self._pin()
        return xp.asarray(np.where(hold, 0.0, vn).reshape(self.size))

    def _cell_values(self, x: Any, idx: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        if isinstance(x, float | int):
            return np.full(idx.size, float(x))
        out: np.ndarray[Any, Any] = np.asarray(self.xp.to_numpy(x))[idx]
        return out

    def idle(self, seconds: float) -> None:
        """Let ``seconds`` pass with no bias: relaxation (and c2c noise if it acts at zero bias) only."""
        if not (isinstance(seconds, float | int) and math.isfinite(seconds) and seconds >= 0):
            raise ConfigError.out_of_range("seconds", seconds, 0.0, None, "s")
        ni, xp = self.nonideal, self.xp
        if ni.relaxation and seconds > 0:
            tau = ni.relaxation_tau
            d = np.log1p((self._age + seconds) / tau) - np.log1p(self._age / tau)
            amp = ni.relaxation * (1.0 + ni.relaxation_spread * self.rng.standard_normal(self.size)) \
                if ni.relaxation_spread else ni.relaxation
            x = self._x + xp.asarray(amp * d)
            self._x = x if self.params.strict_v1 else xp.clip(x, self.params.gap_min, self.params.gap_max)
            self._pref = None
            self._pin()
        self._age += seconds
        if ni.c2c and ni.c2c_at_zero_bias and seconds > 0:
            nch = int(min(max(math.ceil(seconds / self.cells.noise_step), 1), _MAX_NOISE_CHUNKS))
            for _ in range(nch):
                self._noise(xp.zeros(self.size), None, seconds / nch)
        self.time += seconds
