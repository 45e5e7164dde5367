"""Simulators: the RRAM crossbar physics and the simulated instruments that face it.

Public physics API: :class:`StanfordParams` (model parameters), :class:`NonIdealities`, :class:`RRAMArray`
(vectorised cells), :class:`OhmicArray` (constant conductances, for validation), :class:`Crossbar` (line
access with KCL and optional wire resistance) and :func:`solve_crossbar` (the IR-drop network as a pure
function); presets in :mod:`sim_instruments.presets`.
"""

from sim_instruments.physics import (
    Crossbar,
    NodalSolution,
    NonIdealities,
    OhmicArray,
    RRAMArray,
    StanfordParams,
    solve_crossbar,
)

__all__ = ["Crossbar", "NodalSolution", "NonIdealities", "OhmicArray", "RRAMArray", "StanfordParams",
           "solve_crossbar"]
