"""Serial transport through pyserial (RS-232 instruments such as the Keithley 2400)."""

from __future__ import annotations

import re
from typing import Any

from labctl.core.errors import TransportError
from labctl.core.transports._base import BlockingTransport, TransportLog
from labctl.core.transports._nodelay import no_delay

_ASRL = re.compile(r"^ASRL(?P<board>.+?)::INSTR$", re.IGNORECASE)


def serial_url(resource: str) -> str:
    """``ASRL/dev/ttyUSB0::INSTR`` -> ``/dev/ttyUSB0``; ``ASRLsocket://h:p::INSTR`` -> ``socket://h:p``;
    ``ASRL3::INSTR`` -> ``/dev/ttyS2`` (COM3 numbering)."""
    m = _ASRL.match(resource)
    if m is None:
        raise TransportError(f"{resource}: not a serial resource (expected ASRL<port>::INSTR)")
    board = m.group("board")
    return f"/dev/ttyS{int(board) - 1}" if board.isdigit() else board


class SerialTransport(BlockingTransport):
    """Line-oriented serial link. ``termination`` ends both commands and replies."""

    def __init__(
        self, resource: str, *, timeout: float = 2.0, baud: int = 9600, termination: str = "\n",
        log: TransportLog | None = None,
    ) -> None:
        super().__init__(resource, timeout, log)
        self.url = serial_url(resource)
        self.baud = baud
        self.termination = termination.encode()
        self._port: Any = None
        self._buf = b""
        self._open()

    def _open(self) -> None:
        import serial

        try:
            self._port = serial.serial_for_url(self.url, baudrate=self.baud, timeout=self.timeout)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise TransportError(f"{self.resource}: cannot open {self.url} ({exc})") from exc
        no_delay(getattr(self._port, "_socket", None))  # socket:// (a serial device server): Nagle off
        self._buf = b""

    def _close(self) -> None:
        if self._port is not None:
            port, self._port = self._port, None
            port.close()

    def _link(self) -> Any:
        if self._port is None:
            raise TransportError(f"{self.resource}: not connected")
        return self._port

    def _write(self, message: str) -> None:
        import serial

        try:
            self._link().write(message.encode() + self.termination)
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"{self.resource}: write failed ({exc})") from exc

    def _read(self) -> str:
        import serial

        port = self._link()
        try:
            while self.termination not in self._buf:
                chunk = port.read(max(1, port.in_waiting))
                if not chunk:
                    raise TransportError(f"{self.resource}: no reply within {self.timeout:g} s (timeout)")
                self._buf += chunk
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"{self.resource}: read failed ({exc})") from exc
        line, _, self._buf = self._buf.partition(self.termination)
        try:
            return line.decode().rstrip("\r")
        except UnicodeDecodeError as exc:
            raise TransportError(f"{self.resource}: garbled reply {line!r}") from exc

    def _clear(self) -> None:
        port = self._link()
        self._buf = b""
        port.reset_input_buffer()
