"""``open_transport``: the resource string alone picks the transport."""

from __future__ import annotations

from labctl.core.errors import ConfigError
from labctl.core.transports._base import Transport, TransportLog
from labctl.core.transports._inproc import Handler, InProcTransport


def open_transport(
    resource: str,
    *,
    timeout: float = 2.0,
    baud: int = 9600,
    log: TransportLog | None = None,
    inproc: dict[str, Handler] | None = None,
) -> Transport:
    """Open the link named by ``resource`` (blocking: call it off the event loop for real instruments)."""
    if resource.startswith("inproc://"):
        name = resource.removeprefix("inproc://")
        if inproc is None or name not in inproc:
            raise ConfigError.invalid("resource", resource, "inproc://<simulated instrument of this bench>")
        return InProcTransport(resource, inproc[name], timeout=timeout, log=log)
    if resource.upper().startswith("ASRL"):
        from labctl.core.transports._serial import SerialTransport

        return SerialTransport(resource, timeout=timeout, baud=baud, log=log)
    from labctl.core.transports._visa import VisaTransport

    if "@" in resource and resource.rsplit("@", 1)[1] == "sim":
        # "<yaml path>@sim::<resource>" is awkward; pyvisa-sim resources are written "RESOURCE|file.yaml@sim"
        rname, _, lib = resource.partition("|")
        return VisaTransport(rname, timeout=timeout, library=lib or "@sim", log=log)
    return VisaTransport(resource, timeout=timeout, library="@py", log=log)
