"""Instrument servers: each simulated instrument answers raw line-terminated messages on a loopback TCP port.

Any VISA client reaches it as ``TCPIP::127.0.0.1::PORT::SOCKET``; a pyserial client as ``socket://127.0.0.1:PORT``
(the serial instrument, ``ASRLsocket://127.0.0.1:PORT::INSTR``). The servers run in one asyncio loop in a
background thread, so a message is handled completely before the next one (any connection) starts.
Faults (latency, no reply, dropped connection, garbled reply) are injected per instrument and can be changed at
run time through :attr:`SimServer.faults`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from labctl.core.config import FaultConfig

Handler = Callable[[str], "str | None"]


@dataclass
class _Counters:
    messages: int = 0
    replies: int = 0


class SimServer:
    """Serve ``handlers`` (instrument name -> message handler) on loopback ports."""

    def __init__(self, handlers: dict[str, Handler], *, serial: set[str] | None = None,
                 faults: dict[str, FaultConfig] | None = None, host: str = "127.0.0.1") -> None:
        self.handlers = handlers
        self.serial = serial or set()
        self.faults: dict[str, FaultConfig] = dict(faults or {})
        self.host = host
        self.ports: dict[str, int] = {}
        self._counters = {name: _Counters() for name in handlers}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: list[asyncio.Server] = []
        self._writers: set[asyncio.StreamWriter] = set()

    def resource(self, name: str) -> str:
        port = self.ports[name]
        if name in self.serial:
            return f"ASRLsocket://{self.host}:{port}::INSTR"
        return f"TCPIP::{self.host}::{port}::SOCKET"

    @property
    def resources(self) -> dict[str, str]:
        return {name: self.resource(name) for name in self.handlers}

    # --- lifecycle --------------------------------------------------------------------------------------
    def start(self, ports: dict[str, int] | None = None) -> dict[str, str]:
        """Start serving (port 0 = any free port); returns the resource strings."""
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                for name in self.handlers:
                    srv = loop.run_until_complete(asyncio.start_server(
                        self._client_cb(name), self.host, (ports or {}).get(name, 0)))
                    self._servers.append(srv)
                    self.ports[name] = srv.sockets[0].getsockname()[1]
            except BaseException as exc:
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            for srv in self._servers:
                srv.close()
            for w in list(self._writers):
                w.close()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()

        self._thread = threading.Thread(target=run, name="labctl-sim-server", daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]
        return self.resources

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
            self._loop = None

    def __enter__(self) -> SimServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- connections --------------------------------------------------------------------------------------
    def _client_cb(self, name: str) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self._writers.add(writer)
            sock = writer.get_extra_info("socket")
            if sock is not None:
                import socket

                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                await self._serve(name, reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                self._writers.discard(writer)
                writer.close()

        return serve

    async def _serve(self, name: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handler = self.handlers[name]
        count = self._counters[name]
        buf = b""
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                return
            buf += chunk.replace(b"\r", b"\n")
            while b"\n" in buf:
                line, _, buf = buf.partition(b"\n")
                text = line.decode(errors="replace").strip()
                if not text:
                    continue
                fault = self.faults.get(name)
                count.messages += 1
                if fault is not None and fault.drop_after and count.messages % fault.drop_after == 0:
                    writer.close()
                    return
                reply = handler(text)
                if reply is None:
                    continue
                count.replies += 1
                if fault is not None:
                    if fault.latency:
                        await asyncio.sleep(fault.latency)
                    if fault.no_reply_every and count.replies % fault.no_reply_every == 0:
                        continue
                    if fault.garble_every and count.replies % fault.garble_every == 0:
                        reply = "#\x15" + reply[::-1].replace("E", "?")
                writer.write(reply.encode() + b"\n")
                await writer.drain()
