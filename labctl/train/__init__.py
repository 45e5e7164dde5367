"""Hardware-aware training: the only package that imports torch.

Public API (stable names; torch is imported only when a torch-backed name is first used):

Weights and conductances (numpy only)
    ``ConductanceWindow``, ``SEED_WINDOW``, ``HRAT_WINDOW``;
    ``binary_to_conductance`` / ``conductance_to_binary``, ``differential_to_conductance`` /
    ``conductance_to_differential``, ``quantized_to_conductance`` / ``conductance_to_quantized``.
    ``TargetMap`` (``<layer>.npz``: ``targets`` rows x cols in S, optional bool ``mask``; ``<layer>.json``:
    layer, mapping, window, read voltage, columns, periphery), ``load_target_map(s)``.
    ``MeasuredMap``, ``load_measured_map(s)``, ``STATUS_CODES`` (0 converged, 1 failed, 2 stuck, 3 pending).
Crossbar forward in physical units (numpy only)
    ``layer_forward``, ``outputs_from_currents``, ``network_forward``, ``output_errors``.
Training (torch)
    ``train_letters(recipe="seed"|"improved", window=...)`` -> ``LettersResult``; ``SoftBinaryNet``;
    ``CrossbarMLP`` + ``fit_mlp`` (seed 002 noise via ``model.noise_sd``); ``train_hrat`` / ``HRATMLP``
    (seed 003); ``train_lut`` / ``DeviceLUT`` / ``build_luts_from_csv`` (seed 004).
The measured-map loop (torch)
    ``evaluate(model, x, y, measured=None)``, ``fit_noise_model``, ``chip_in_the_loop``,
    ``export_targets(model_dir_or_model, out_dir=None, window=None)``, ``sync_measured(model_dir, maps)``,
    ``program_with_faults`` (a statistical stand-in chip), ``save_model`` / ``load_model``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from labctl.train.crossbar import layer_forward, network_forward, output_errors, outputs_from_currents
from labctl.train.mapping import (
    HRAT_WINDOW,
    SEED_WINDOW,
    ConductanceWindow,
    binary_to_conductance,
    conductance_to_binary,
    conductance_to_differential,
    conductance_to_quantized,
    differential_to_conductance,
    quantized_to_conductance,
)
from labctl.train.measured import STATUS_CODES, MeasuredMap, load_measured_map, load_measured_maps
from labctl.train.synthetic import program_with_faults
from labctl.train.targets import TargetMap, load_target_map, load_target_maps

if TYPE_CHECKING:
    from labctl.train.base import load_model, save_model
    from labctl.train.export import export_targets, sync_measured
    from labctl.train.hrat import HRATMLP, train_hrat
    from labctl.train.letters import LettersResult, SoftBinaryNet, train_letters
    from labctl.train.lut import DeviceLUT, build_luts_from_csv, train_lut
    from labctl.train.mlp import CrossbarMLP, fit_mlp
    from labctl.train.retrain import chip_in_the_loop, evaluate, fit_noise_model

_LAZY = {
    "load_model": "base", "save_model": "base", "export_targets": "export", "sync_measured": "export",
    "HRATMLP": "hrat", "train_hrat": "hrat", "LettersResult": "letters", "SoftBinaryNet": "letters",
    "train_letters": "letters", "chip_in_the_loop": "loop", "evaluate": "loop", "fit_noise_model": "loop",
    "DeviceLUT": "lut", "build_luts_from_csv": "lut", "train_lut": "lut", "CrossbarMLP": "mlp", "fit_mlp": "mlp",
}


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'labctl.train' has no attribute {name!r}")
    return getattr(importlib.import_module(f"labctl.train.{mod}"), name)


__all__ = [
    "HRATMLP", "HRAT_WINDOW", "SEED_WINDOW", "STATUS_CODES", "ConductanceWindow", "CrossbarMLP", "DeviceLUT",
    "LettersResult", "MeasuredMap", "SoftBinaryNet", "TargetMap", "binary_to_conductance", "build_luts_from_csv",
    "chip_in_the_loop", "conductance_to_binary", "conductance_to_differential", "conductance_to_quantized",
    "differential_to_conductance", "evaluate", "export_targets", "fit_mlp", "fit_noise_model", "layer_forward",
    "load_measured_map", "load_measured_maps", "load_model", "load_target_map", "load_target_maps",
    "network_forward", "output_errors", "outputs_from_currents", "program_with_faults", "quantized_to_conductance",
    "save_model", "sync_measured", "train_hrat", "train_letters", "train_lut",
]
