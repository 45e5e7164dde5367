"""Simulators: the RRAM crossbar physics and the simulated instruments that face it."""
