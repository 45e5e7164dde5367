"""Pure NumPy analysis of records and maps (journal arrays in, numbers out; no I/O)."""

from labctl.analysis.levels import LevelStats, level_stats
from labctl.analysis.programming import ProgramStats, max_read_volts, program_stats, pulses_after, pulses_per_cell

__all__ = [
    "LevelStats", "ProgramStats", "level_stats", "max_read_volts", "program_stats", "pulses_after", "pulses_per_cell",
]
