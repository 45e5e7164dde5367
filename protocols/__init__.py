"""Programming and characterisation protocols, typed only against ``labctl.core`` capabilities.

Contract (the CLI, the jobs and the service rely on it)::

    REGISTRY: dict[str, ProtocolSpec]     # forming, program, scan, read_map, inference, iv_sweep, retention, endurance
    spec = REGISTRY["program"]
    params = spec.parse({"random_levels": 4})          # strict pydantic (extra=forbid); ConfigError names the field
    summary = await spec.run(access, params, sink, resume=None)

* ``access`` is a :class:`labctl.core.CrossbarAccess` (a real or simulated bench, or a test fake).
* ``sink`` has ``emit(record)``; records are the immutable ones of :mod:`labctl.core.records`:
  ``PulseRecord`` and ``ReadRecord`` for every pulse and read, ``CellOutcome`` per programmed cell,
  ``InferenceRecord``, ``MapRecord``, ``ResultRecord`` and ``Progress`` events.
* ``resume`` (resumable protocols: ``program``, ``forming``, ``scan``): {(row, col): CellOutcome} from the journal;
  those cells are never pulsed or read again.
* ``run`` returns a small JSON-able summary dict.

Target maps (``program``): ``targets`` = path to an NPZ with array ``targets`` (rows x cols, siemens) and
an optional boolean ``mask`` (cells to program), or a CSV matrix of siemens; placed at ``origin``. Or
``random_levels: N`` (+ ``seed``, ``level_min``, ``level_max``, ``shape``) for random targets at N evenly
spaced levels inside the device window (default 10-100 µS at 0.1 V for STANFORD_V1).
Protocols never import a driver, a simulator or ``labctl.bench`` (import-linter enforces it).
"""

from protocols import endurance, forming, inference, iv_sweep, program, pulse_train, read_map, retention, scan
from protocols._base import ListSink, Params, ProtocolSpec, RecordSink, Resume

REGISTRY: dict[str, ProtocolSpec] = {spec.name: spec for spec in (
    ProtocolSpec("forming", "Electroforming: voltage ramp until the cell's conductance passes a threshold.",
                 forming.FormingParams, forming.run, resumable=True),
    ProtocolSpec("program", "Write-verify (ISPP) of an array to a target conductance map.",
                 program.ProgramParams, program.run, resumable=True),
    ProtocolSpec("scan", "Fault map: one RESET and one SET pulse per cell, read after each; classes every cell.",
                 scan.ScanParams, scan.run, resumable=True),
    ProtocolSpec("read_map", "Conductance map read at the clamped read voltage (averaged, outliers reported).",
                 read_map.ReadMapParams, read_map.run),
    ProtocolSpec("inference", "Vector-matrix products: inputs to row voltages within the clamp, column currents out.",
                 inference.InferenceParams, inference.run),
    ProtocolSpec("iv_sweep", "Pulsed I-V sweep of one cell (0 -> +V -> 0 -> -V -> 0).",
                 iv_sweep.IvSweepParams, iv_sweep.run),
    ProtocolSpec("retention", "Reads of a set of cells over time.", retention.RetentionParams, retention.run),
    ProtocolSpec("endurance", "SET/RESET cycling of one cell with reads of both states.",
                 endurance.EnduranceParams, endurance.run),
    ProtocolSpec("pulse_train", "SET and RESET pulse trains on cells, read after every pulse (device look-up tables).",
                 pulse_train.PulseTrainParams, pulse_train.run),
)}


def get(name: str) -> ProtocolSpec:
    """The registered protocol ``name``; ``ConfigError`` listing the known ones otherwise."""
    from labctl.core.errors import ConfigError

    try:
        return REGISTRY[name]
    except KeyError:
        raise ConfigError.invalid("protocol", name, ", ".join(sorted(REGISTRY))) from None


__all__ = ["REGISTRY", "ListSink", "Params", "ProtocolSpec", "RecordSink", "Resume", "get"]
