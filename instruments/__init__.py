"""Real instrument drivers (asyncio), built on the transports of ``labctl.core``.

Every driver enforces its safety limits where it builds a command: a violation raises ``LimitError`` before
anything is sent. Queries that are safe to repeat are retried after a transport failure (the link is reopened
first); a pulse never is.
"""

from instruments._base import ScpiInstrument, SourceLimits
from instruments.keithley_707b import Keithley707B
from instruments.keithley_2400 import Keithley2400
from instruments.keithley_2450 import Keithley2450
from instruments.keithley_2600b import Keithley2600B
from instruments.keysight_33500b import Keysight33500B
from instruments.keysight_b2201a import KeysightB2201A
from instruments.keysight_b2902 import KeysightB2902
from instruments.matrix import MatrixDriver

DRIVERS: dict[str, type[ScpiInstrument]] = {
    "keithley_2450": Keithley2450,
    "keysight_b2902": KeysightB2902,
    "keithley_2400": Keithley2400,
    "keysight_b2201a": KeysightB2201A,
    "keithley_707b": Keithley707B,
    "keithley_2600b": Keithley2600B,
    "keysight_33500b": Keysight33500B,
}

__all__ = [
    "DRIVERS",
    "Keithley707B",
    "Keithley2400",
    "Keithley2450",
    "Keithley2600B",
    "Keysight33500B",
    "KeysightB2201A",
    "KeysightB2902",
    "MatrixDriver",
    "ScpiInstrument",
    "SourceLimits",
]
