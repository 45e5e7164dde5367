"""Weights <-> conductances: one deterministic pair of functions per mapping (numpy only).

Crossbar convention used everywhere in labctl: a layer's conductance map has shape
``(rows, cols) = (inputs, outputs)`` (row voltages in, column currents out), i.e. the transpose of a
torch ``Linear`` weight ``(out, in)``. Differential layers use interleaved column pairs: column ``2j``
holds ``G+`` of output ``j`` and column ``2j + 1`` holds ``G-``; the signed weight is proportional to
``G+ - G-``.

Mappings (each a ``*_to_conductance`` / ``conductance_to_*`` pair):

* binary:        ``w > 0 -> g_on``, ``w <= 0 -> g_off``; back: ``g >= (g_on + g_off)/2 -> +1`` else ``-1``.
* differential:  ``w`` in ``[-w_max, w_max]`` (``w_max`` defaults to ``max|w|``); ``k = (g_on - g_off)/w_max``,
  ``G+ = g_off + k max(w, 0)``, ``G- = g_off + k max(-w, 0)``; back: ``w = (G+ - G-)/k``.
* quantized:     ``w`` in ``[-w_max, w_max]`` onto ``levels`` evenly spaced conductances in the window
  (single device, ``g = g_off + (w + w_max)/(2 w_max) (g_on - g_off)`` rounded to the nearest level); back: the
  inverse affine map of the level.

The window is always a parameter; :data:`SEED_WINDOW` holds the seeds' values (seed 001: G_ON 77 uS,
G_OFF 2.88 uS at the 0.1 V read voltage).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from labctl.core.errors import ConfigError

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ConductanceWindow:
    """The programmable conductance range of a device at a read voltage.

    Attributes:
        g_off: lowest target conductance (siemens), > 0.
        g_on: highest target conductance (siemens), > g_off.
        read_voltage: the read voltage the window was measured at (volts).
    """

    g_off: float
    g_on: float
    read_voltage: float = 0.1

    def __post_init__(self) -> None:
        if not (np.isfinite(self.g_off) and self.g_off > 0):
            raise ConfigError.out_of_range("g_off", self.g_off, 0.0, None, "S")
        if not (np.isfinite(self.g_on) and self.g_on > self.g_off):
            raise ConfigError.out_of_range("g_on", self.g_on, self.g_off, None, "S")
        if not (np.isfinite(self.read_voltage) and self.read_voltage > 0):
            raise ConfigError.out_of_range("read_voltage", self.read_voltage, 0.0, None, "V")

    @property
    def span(self) -> float:
        return self.g_on - self.g_off

    def to_dict(self) -> dict[str, float]:
        return {"g_off": self.g_off, "g_on": self.g_on, "read_voltage": self.read_voltage}


#: Seeds 000/001: Stanford model RRAM, G_ON 7.7e-5 S, G_OFF 2.88e-6 S, read at 0.1 V.
SEED_WINDOW = ConductanceWindow(g_off=2.88e-6, g_on=7.7e-5, read_voltage=0.1)
#: Seed 003 (HRAT, after Yao et al. 2020): 2 uS .. 20 uS.
HRAT_WINDOW = ConductanceWindow(g_off=2e-6, g_on=20e-6, read_voltage=0.2)


def _as_float(w: npt.ArrayLike, name: str) -> FloatArray:
    a = np.asarray(w, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise ConfigError.invalid(name, "array with NaN/inf", "finite values")
    return a


def _w_max(w: FloatArray, w_max: float | None) -> float:
    m = float(np.max(np.abs(w))) if w_max is None and w.size else (w_max or 0.0)
    if w_max is None and m == 0.0:
        m = 1.0
    if not m > 0:
        raise ConfigError.out_of_range("w_max", w_max, 0.0, None)
    return m


# --- binary -----------------------------------------------------------------------------------------------


def binary_to_conductance(w: npt.ArrayLike, window: ConductanceWindow = SEED_WINDOW) -> FloatArray:
    """Hard binarization: ``g_on`` where ``w > 0``, ``g_off`` elsewhere (the limit of the soft binarization)."""
    a = _as_float(w, "weights")
    return np.where(a > 0, window.g_on, window.g_off).astype(np.float64)


def conductance_to_binary(g: npt.ArrayLike, window: ConductanceWindow = SEED_WINDOW) -> FloatArray:
    """Inverse of :func:`binary_to_conductance`: ``+1`` above the window midpoint, ``-1`` below."""
    a = _as_float(g, "conductance")
    return np.where(a >= 0.5 * (window.g_on + window.g_off), 1.0, -1.0)


# --- differential pair ------------------------------------------------------------------------------------


def differential_to_conductance(
    w: npt.ArrayLike, window: ConductanceWindow = SEED_WINDOW, w_max: float | None = None
) -> tuple[FloatArray, float]:
    """Signed weights ``(rows, cols)`` -> interleaved pair map ``(rows, 2 cols)`` and the factor ``k`` (S/unit).

    Weights beyond ``w_max`` are an error (nothing is silently clipped).
    """
    a = _as_float(w, "weights")
    m = _w_max(a, w_max)
    if np.max(np.abs(a), initial=0.0) > m * (1 + 1e-9):
        raise ConfigError.out_of_range("weights", float(np.max(np.abs(a))), -m, m)
    k = window.span / m
    g = np.empty((*a.shape[:-1], 2 * a.shape[-1]), dtype=np.float64)
    g[..., 0::2] = window.g_off + k * np.maximum(a, 0.0)
    g[..., 1::2] = window.g_off + k * np.maximum(-a, 0.0)
    return g, k


def conductance_to_differential(g: npt.ArrayLike, k: float) -> FloatArray:
    """Inverse of :func:`differential_to_conductance`: ``(G+ - G-)/k`` from an interleaved pair map."""
    a = _as_float(g, "conductance")
    if a.shape[-1] % 2:
        raise ConfigError.invalid("conductance.shape", a.shape, "an even number of columns (interleaved pairs)")
    if not k > 0:
        raise ConfigError.out_of_range("k", k, 0.0, None, "S per weight unit")
    return (a[..., 0::2] - a[..., 1::2]) / k


# --- multi-level quantized --------------------------------------------------------------------------------


def _check_levels(levels: int) -> None:
    if not (isinstance(levels, int) and 2 <= levels <= 4096):
        raise ConfigError.out_of_range("levels", levels, 2, 4096)


def conductance_levels(window: ConductanceWindow, levels: int) -> FloatArray:
    """The ``levels`` evenly spaced target conductances from ``g_off`` to ``g_on``."""
    _check_levels(levels)
    return np.linspace(window.g_off, window.g_on, levels)


def quantized_to_conductance(
    w: npt.ArrayLike, window: ConductanceWindow = SEED_WINDOW, levels: int = 16, w_max: float | None = None
) -> tuple[FloatArray, float]:
    """Signed weights -> one device per weight on ``levels`` conductance levels; returns ``(g, w_max)``."""
    _check_levels(levels)
    a = _as_float(w, "weights")
    m = _w_max(a, w_max)
    if np.max(np.abs(a), initial=0.0) > m * (1 + 1e-9):
        raise ConfigError.out_of_range("weights", float(np.max(np.abs(a))), -m, m)
    idx = np.rint((a + m) / (2 * m) * (levels - 1))
    return window.g_off + idx / (levels - 1) * window.span, m


def conductance_to_quantized(
    g: npt.ArrayLike, window: ConductanceWindow = SEED_WINDOW, levels: int = 16, w_max: float = 1.0
) -> FloatArray:
    """Inverse of :func:`quantized_to_conductance`: nearest level, then back to ``[-w_max, w_max]``."""
    _check_levels(levels)
    a = _as_float(g, "conductance")
    idx = np.clip(np.rint((a - window.g_off) / window.span * (levels - 1)), 0, levels - 1)
    return (idx / (levels - 1) * 2.0 - 1.0) * w_max
