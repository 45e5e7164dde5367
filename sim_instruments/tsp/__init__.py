"""TSP (Test Script Processor) engine of the simulated Keithley instruments: host scripts run in a sandboxed Lua
runtime (lupa) with the instrument's API exposed to them."""

from sim_instruments.tsp._engine import TspEngine, TspError, ascii_number

__all__ = ["TspEngine", "TspError", "ascii_number"]
