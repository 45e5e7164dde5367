"""Simulators: the RRAM crossbar physics and the simulated instruments that face it.

Public physics API: :class:`StanfordParams` (model parameters), :class:`NonIdealities`, :class:`RRAMArray`
(vectorised cells) and :class:`Crossbar` (line access with KCL); presets in :mod:`sim_instruments.presets`.
"""

from sim_instruments.physics import Crossbar, NonIdealities, RRAMArray, StanfordParams

__all__ = ["Crossbar", "NonIdealities", "RRAMArray", "StanfordParams"]
