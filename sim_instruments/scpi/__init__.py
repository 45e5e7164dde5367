"""A small SCPI interpreter for simulated instruments: short/long forms, optional nodes, numeric suffixes,
compound messages, IEEE 488.2 common commands and the standard error queue."""

from sim_instruments.scpi._device import ScpiDevice
from sim_instruments.scpi._grammar import ScpiError, channel_list, parse_bool, parse_number

__all__ = ["ScpiDevice", "ScpiError", "channel_list", "parse_bool", "parse_number"]
