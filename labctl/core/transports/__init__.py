"""Transports: the one seam between real and simulated instruments, chosen by the resource string.

``open_transport(resource)`` picks: pyvisa + pyvisa-py for VISA resources (``TCPIP::...::SOCKET``, ``GPIB0::24::INSTR``,
...), pyserial for ``ASRL...`` resources (including ``ASRLsocket://host:port::INSTR``), pyvisa-sim for
``file.yaml@sim`` resources, and an in-process call for ``inproc://NAME`` (unit tests only; the handler is given).
Blocking I/O runs off the event loop; every transport serialises its messages with one lock.
"""

from labctl.core.transports._base import Transport, TransportLog
from labctl.core.transports._factory import open_transport
from labctl.core.transports._inproc import InProcTransport
from labctl.core.transports._serial import SerialTransport
from labctl.core.transports._visa import VisaTransport

__all__ = ["InProcTransport", "SerialTransport", "Transport", "TransportLog", "VisaTransport", "open_transport"]
