"""VISA transport: pyvisa with the pyvisa-py backend (or pyvisa-sim for ``file.yaml@sim`` resources)."""

from __future__ import annotations

import threading
from typing import Any

from labctl.core.errors import TransportError
from labctl.core.transports._base import BlockingTransport, TransportLog
from labctl.core.transports._nodelay import no_delay

_MANAGERS: dict[str, Any] = {}
_MANAGERS_LOCK = threading.Lock()


def resource_manager(library: str = "@py") -> Any:
    """One pyvisa ResourceManager per library spec for the process."""
    import pyvisa

    with _MANAGERS_LOCK:
        rm = _MANAGERS.get(library)
        if rm is None:
            rm = _MANAGERS[library] = pyvisa.ResourceManager(library)
        return rm


class VisaTransport(BlockingTransport):
    """A message-based VISA resource. ``library`` is "@py" (pyvisa-py) or "<file.yaml>@sim" (pyvisa-sim)."""

    def __init__(
        self,
        resource: str,
        *,
        timeout: float = 2.0,
        library: str = "@py",
        termination: str = "\n",
        log: TransportLog | None = None,
    ) -> None:
        super().__init__(resource, timeout, log)
        self.library = library
        self.termination = termination
        self._res: Any = None
        self._open()

    def _open(self) -> None:
        import pyvisa

        try:
            res = resource_manager(self.library).open_resource(self.resource)
        except (pyvisa.Error, OSError, ValueError) as exc:
            raise TransportError(f"{self.resource}: cannot open ({exc})") from exc
        res.timeout = self.timeout * 1000.0
        res.read_termination = self.termination
        res.write_termination = self.termination
        _no_delay(res)
        self._res = res

    def _close(self) -> None:
        if self._res is not None:
            res, self._res = self._res, None
            res.close()

    def _link(self) -> Any:
        if self._res is None:
            raise TransportError(f"{self.resource}: not connected")
        return self._res

    def _write(self, message: str) -> None:
        import pyvisa

        try:
            self._link().write(message)
        except (pyvisa.Error, OSError) as exc:
            raise TransportError(f"{self.resource}: write failed ({exc})") from exc

    def _read(self) -> str:
        import pyvisa

        try:
            reply: str = self._link().read()
        except pyvisa.errors.VisaIOError as exc:
            if exc.error_code == pyvisa.constants.StatusCode.error_timeout:
                raise TransportError(f"{self.resource}: no reply within {self.timeout:g} s (timeout)") from exc
            raise TransportError(f"{self.resource}: read failed ({exc})") from exc
        except (pyvisa.Error, OSError, UnicodeDecodeError) as exc:
            raise TransportError(f"{self.resource}: read failed ({exc})") from exc
        return reply

    def _clear(self) -> None:
        res = self._link()
        old = res.timeout
        try:
            res.timeout = 50
            while True:
                res.read_raw()
        except Exception:
            pass
        finally:
            if self._res is not None:
                res.timeout = old


def _no_delay(res: Any) -> None:
    """Nagle off on a pyvisa-py TCP/IP session's socket (:mod:`~labctl.core.transports._nodelay`); other backends
    (NI-VISA: already off, pyvisa-sim, serial) have none and are left as they are."""
    session = getattr(getattr(res, "visalib", None), "sessions", {}).get(getattr(res, "session", None))
    no_delay(getattr(session, "interface", None))
