"""Pure NumPy analysis of records and maps (journal arrays in, numbers out; no I/O)."""

from labctl.analysis.programming import ProgramStats, max_read_volts, program_stats, pulses_after, pulses_per_cell

__all__ = ["ProgramStats", "max_read_volts", "program_stats", "pulses_after", "pulses_per_cell"]
