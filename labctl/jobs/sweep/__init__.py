"""Monte-Carlo sweeps over simulated chips (``labctl sweep``): spec, per-chip job, sweep record, Ray engine.

``spec`` (strict sweep YAML) -> ``expand`` (chips = variants x seeds, each with its validated bench)
-> ``write_plan`` (``<out>/sweep.json``) -> ``run_sweep`` (Ray tasks of ``run_chip``; the only Ray importer)
-> the sweep record (``<out>/runs/sweep-<name>``) referencing every chip's runs.
"""

from labctl.jobs.sweep.chip import RUNS_DIR, run_chip
from labctl.jobs.sweep.engine import SweepOutcome, run_sweep
from labctl.jobs.sweep.record import (
    SweepRecord,
    read_plan,
    record_id,
    write_plan,
    write_sweep_report,
)
from labctl.jobs.sweep.spec import Chip, SweepSpec, expand, load_spec, parse_spec, schema
from labctl.report._sweep import CHIP_RESULT, SWEEP_PROTOCOL

__all__ = ["CHIP_RESULT", "RUNS_DIR", "SWEEP_PROTOCOL",  "Chip", "SweepOutcome", "SweepRecord", "SweepSpec", "expand",
           "load_spec", "parse_spec", "read_plan", "record_id", "run_chip", "run_sweep", "schema", "write_plan",
           "write_sweep_report"]
