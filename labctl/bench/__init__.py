"""Builds benches from YAML: the only place that constructs concrete drivers and simulators.

``open_bench(config)`` -> ``Bench`` with ``crossbars`` (``CrossbarAccess``), ``safe_state()``, ``snapshot()``,
``simulation`` (None on a real bench) and ``estimated_bench_seconds()``. ``DEFAULT_CONFIG`` is the embedded
simulated bench (two 64x64 crossbars ``xbar0`` and ``xbar1``). ``SimProcess`` runs a simulated bench in a child
process (``labctl sim serve``) and hands back its resource strings. ``load_config(path)`` loads and checks a bench
YAML, the ``sim`` section against the physics included (every error at once, named by the file).
"""

import contextlib
from pathlib import Path

from pydantic import ValidationError

from labctl.bench._access import BenchCrossbar
from labctl.bench._bench import Bench, build_driver, open_bench
from labctl.bench._sim import SimProcess, Simulation, start_simulation
from labctl.bench._wiring import third_bias_wired
from labctl.core.config import BenchConfig, SimConfig, bench_config_errors, read_bench_yaml
from labctl.core.errors import ConfigError
from sim_instruments.check import sim_errors

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
DEFAULT_CONFIG = CONFIGS / "sim_bench.yaml"


def load_config(path: str | Path) -> BenchConfig:
    """Load a bench YAML and check it whole (structure, cross references, the ``sim`` section's physics);
    one ``ConfigError`` names the file and lists every error."""
    data = read_bench_yaml(path)
    cfg, errors = bench_config_errors(data)
    sim = data.get("sim") if isinstance(data, dict) else None
    if isinstance(sim, dict):
        with contextlib.suppress(ValidationError):  # the section's structural errors are listed already
            errors += sim_errors(SimConfig.model_validate(sim))
    if errors or cfg is None:
        raise ConfigError(f"{path}: {len(errors)} error(s)\n" + "\n".join(errors))
    return cfg


__all__ = ["CONFIGS", "DEFAULT_CONFIG", "Bench", "BenchCrossbar", "SimProcess", "Simulation", "build_driver",
           "load_config", "open_bench", "start_simulation", "third_bias_wired"]
