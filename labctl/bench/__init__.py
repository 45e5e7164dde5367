"""Builds benches from YAML: the only place that constructs concrete drivers and simulators.

``open_bench(config)`` -> ``Bench`` with ``crossbars`` (``CrossbarAccess``), ``safe_state()``, ``snapshot()``,
``simulation`` (None on a real bench) and ``estimated_bench_seconds()``. ``DEFAULT_CONFIG`` is the embedded
simulated bench (two 64x64 crossbars ``xbar0`` and ``xbar1``). ``SimProcess`` runs a simulated bench in a child
process (``labctl sim serve``) and hands back its resource strings.
"""

from pathlib import Path

from labctl.bench._access import BenchCrossbar
from labctl.bench._bench import Bench, build_driver, open_bench
from labctl.bench._sim import SimProcess, Simulation, start_simulation

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
DEFAULT_CONFIG = CONFIGS / "sim_bench.yaml"

__all__ = [
           "CONFIGS",
           "DEFAULT_CONFIG",
           "Bench",
           "BenchCrossbar",
           "SimProcess",
           "Simulation",
           "build_driver",
           "open_bench",
           "start_simulation",
]
