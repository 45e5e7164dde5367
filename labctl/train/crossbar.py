"""The crossbar forward pass in physical units (numpy only), for comparing offline and bench outputs.

A layer on the chip is: row voltages -> conductance map -> column currents -> periphery -> layer outputs.
The bench applies row voltages (within the read clamp) and measures column currents; these functions turn
those currents into the layer's outputs exactly as the trained model's forward pass does, so offline and
bench per-layer outputs can be compared (:func:`output_errors`, seed 003 appendix table A.4).

Specs are plain JSON dicts (stored in each target map's metadata under ``periphery``):

``input``  (how the layer's inputs become row voltages)
    ``{"v_per_unit": a, "offset": b, "clamp": c, "repeat": k}`` -> ``v = clip(a x + b, -c, c)`` (``clamp`` may be
    null), tiled ``k`` times (each input drives ``k`` rows: rows ``i``, ``n + i``, ... carry input ``i``; 1 when
    absent).
``output`` (how column currents become outputs)
    ``{"kind": "inv_amp", "v_rail": V, "r_fb": R, "inverting": true, "bias": [..] | null, "gain": [..] | null}``
    -> ``y = -V tanh((I + I_b) R k / V)`` (seeds 000/001; ``bias`` = a current per output, A, injected into the
    amplifier's summing node, e.g. through a resistor from a reference voltage; ``gain`` = a trim ``k`` per output
    of its feedback resistance, 1 when absent);
    ``{"kind": "linear", "gain": g, "bias": [..] | null, "clamp": c | null, "activation": "relu"|"relu1"|"none"}``
    -> ``y = act(clip(clip(g I, -c, c) + b, -c, c))`` (digital periphery; HRAT eq. 9 when ``clamp = VDD/2``).

``I`` is the column current, or for interleaved column pairs the difference ``I[2j] - I[2j+1]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from labctl.core.errors import ConfigError

FloatArray = npt.NDArray[np.float64]

#: the most rows one input may drive (periphery ``input.repeat``, ``SoftBinaryNet(repeats=...)``, ``--repeats``)
MAX_REPEATS = 8


def row_voltages(x: npt.ArrayLike, spec: dict[str, Any]) -> FloatArray:
    """Layer inputs -> row voltages (volts) per the ``input`` spec."""
    v = float(spec.get("v_per_unit", 1.0)) * np.asarray(x, dtype=np.float64) + float(spec.get("offset", 0.0))
    c = spec.get("clamp")
    v = np.clip(v, -float(c), float(c)) if c is not None else v
    k = int(spec.get("repeat", 1))
    if not 1 <= k <= MAX_REPEATS:
        raise ConfigError.out_of_range("input.repeat", k, 1, MAX_REPEATS, "rows per input")
    return np.tile(v, k) if k > 1 else v


def column_currents(v_rows: npt.ArrayLike, g: npt.ArrayLike) -> FloatArray:
    """Ideal crossbar: ``I = V @ G`` (batch, rows) x (rows, cols) -> (batch, cols), amperes."""
    v = np.asarray(v_rows, dtype=np.float64)
    gm = np.asarray(g, dtype=np.float64)
    if v.shape[-1] != gm.shape[0]:
        raise ConfigError.invalid("row voltages", v.shape, f"last dimension {gm.shape[0]} (map rows)")
    return v @ gm


def signed_currents(currents: npt.ArrayLike, columns: str) -> FloatArray:
    """Single columns as they are; interleaved pairs -> ``I+ - I-``."""
    i = np.asarray(currents, dtype=np.float64)
    if columns == "single":
        return i
    if columns == "interleaved_pairs":
        if i.shape[-1] % 2:
            raise ConfigError.invalid("currents.shape", i.shape, "an even number of columns")
        return i[..., 0::2] - i[..., 1::2]
    raise ConfigError.invalid("columns", columns, "single, interleaved_pairs")


def periphery_output(currents: npt.ArrayLike, spec: dict[str, Any]) -> FloatArray:
    """Signed column currents -> layer outputs per the ``output`` spec."""
    i = np.asarray(currents, dtype=np.float64)
    kind = spec.get("kind")
    if kind == "inv_amp":
        v_rail, r_fb = float(spec["v_rail"]), float(spec["r_fb"])
        if spec.get("bias") is not None:
            i = i + np.asarray(spec["bias"], dtype=np.float64)
        if spec.get("gain") is not None:
            i = i * np.asarray(spec["gain"], dtype=np.float64)
        y = v_rail * np.tanh(i * r_fb / v_rail)
        return -y if spec.get("inverting", True) else y
    if kind == "linear":
        y = float(spec["gain"]) * i
        c = spec.get("clamp")
        if c is not None:
            y = np.clip(y, -float(c), float(c))
        if spec.get("bias") is not None:
            y = y + np.asarray(spec["bias"], dtype=np.float64)
        if c is not None:
            y = np.clip(y, -float(c), float(c))
        act = spec.get("activation", "none")
        if act == "relu":
            return np.maximum(y, 0.0)
        if act == "relu1":
            return np.clip(y, 0.0, 1.0)
        if act != "none":
            raise ConfigError.invalid("output.activation", act, "relu, relu1, none")
        return y
    raise ConfigError.invalid("output.kind", kind, "inv_amp, linear")


def layer_forward(x: npt.ArrayLike, g: npt.ArrayLike, periphery: dict[str, Any]) -> FloatArray:
    """Offline physical forward of one layer: inputs -> voltages -> ideal currents -> outputs."""
    v = row_voltages(x, periphery.get("input", {}))
    i = signed_currents(column_currents(v, g), periphery.get("columns", "single"))
    return periphery_output(i, periphery["output"])


def outputs_from_currents(measured_currents: npt.ArrayLike, periphery: dict[str, Any]) -> FloatArray:
    """Bench path: measured raw column currents -> layer outputs, as the model computes them."""
    i = signed_currents(measured_currents, periphery.get("columns", "single"))
    return periphery_output(i, periphery["output"])


def network_forward(x: npt.ArrayLike, maps: Sequence[tuple[npt.ArrayLike, dict[str, Any]]]) -> list[FloatArray]:
    """Chain :func:`layer_forward` through ``[(g, periphery), ...]``; returns every layer's outputs."""
    outs: list[FloatArray] = []
    h: npt.ArrayLike = x
    for g, p in maps:
        h = layer_forward(h, g, p)
        outs.append(h)
    return outs


@dataclass(frozen=True, slots=True)
class OutputErrors:
    """Per-layer comparison of offline and bench outputs (seed 003 table A.4 columns)."""

    n_outputs: int
    max_error: float
    mean_error: float
    std_error: float


def output_errors(offline: npt.ArrayLike, bench: npt.ArrayLike) -> OutputErrors:
    """Max, mean and std of ``|offline - bench|`` over every output of a layer."""
    a, b = np.asarray(offline, dtype=np.float64), np.asarray(bench, dtype=np.float64)
    if a.shape != b.shape:
        raise ConfigError.invalid("bench.shape", b.shape, f"{a.shape} (offline shape)")
    e = np.abs(a - b)
    n = int(a.shape[-1]) if a.ndim else 1
    return OutputErrors(n, float(e.max()), float(e.mean()), float(e.std()))
