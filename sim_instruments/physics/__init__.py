"""The crossbar physics: Stanford/PKU v1.0.0 RRAM cells, a vectorised array, and a crossbar with KCL
(ideal lines, or wire resistance solved on the full nodal network)."""

from sim_instruments.physics._integrate_jit import warm_up as warm_up_integrator
from sim_instruments.physics.array import RRAMArray
from sim_instruments.physics.crossbar import Crossbar
from sim_instruments.physics.nodal import NodalSolution, solve_crossbar
from sim_instruments.physics.nonideal import NonIdealities
from sim_instruments.physics.ohmic import OhmicArray
from sim_instruments.physics.params import StanfordParams
from sim_instruments.physics.pulse_shape import Trapezoid, apply_shaped_pulse, loaded_levels

__all__ = ["Crossbar", "NodalSolution", "NonIdealities", "OhmicArray", "RRAMArray", "StanfordParams", "Trapezoid",
           "apply_shaped_pulse", "loaded_levels", "solve_crossbar", "warm_up_integrator"]
