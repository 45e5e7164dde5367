"""Instrument servers: each simulated instrument answers raw line-terminated messages on a loopback TCP port.

Any VISA client reaches it as ``TCPIP::127.0.0.1::PORT::SOCKET``; a pyserial client as ``socket://127.0.0.1:PORT``
(the serial instrument, ``ASRLsocket://127.0.0.1:PORT::INSTR``). Blocking sockets, one thread per connection;
one lock serialises the handlers of all connections, so a message is handled completely before the next one (any
connection) starts. Faults (latency, no reply, dropped connection, garbled reply) are injected per instrument and
can be changed at run time through :attr:`SimServer.faults`.

``spin`` (s): after each message a connection polls its socket without blocking for this long before it blocks
again. A blocking wait costs an expensive wake-up on some VMs; polling keeps a back-to-back client fast. Spin only
where the server has a process of its own (``labctl sim serve``): in the client's process it would take the GIL
from the client. Only the connection that handled the latest message spins.
"""

from __future__ import annotations

import os
import selectors
import socket
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass

from labctl.core.config import FaultConfig

Handler = Callable[[str], "str | None"]

_CHUNK = 65536
_NL = b"\n"


@dataclass
class _Counters:
    messages: int = 0
    replies: int = 0


def garble(reply: str) -> str:
    """The corruption a garbled-reply fault applies (not a number any more, wrong framing byte)."""
    return "#\x15" + reply[::-1].replace("E", "?")


class SimServer:
    """Serve ``handlers`` (instrument name -> message handler) on loopback ports."""

    def __init__(self, handlers: dict[str, Handler], *, serial: set[str] | None = None,
                 faults: dict[str, FaultConfig] | None = None, host: str = "127.0.0.1", spin: float = 0.0,
                 lock: AbstractContextManager[object] | None = None) -> None:
        if not 0.0 <= spin <= 0.1:
            raise ValueError(f"spin = {spin!r} s is out of range; allowed [0, 0.1] s")
        self.handlers = handlers
        self.serial = serial or set()
        self.faults: dict[str, FaultConfig] = dict(faults or {})
        self.host = host
        self.spin = spin
        self.ports: dict[str, int] = {}
        self._lock: AbstractContextManager[object] = lock if lock is not None else threading.Lock()
        self._counters = {name: _Counters() for name in handlers}
        self._listeners: dict[str, socket.socket] = {}
        self._conns: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._guard = threading.Lock()  # protects _conns and _threads
        self._acceptor: threading.Thread | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._stopping = False
        self._spinner: object = None  # the connection allowed to spin now

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
        if self._acceptor is not None:
            raise RuntimeError("the server is already running")
        self._stopping = False
        try:
            for name in self.handlers:
                lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                self._listeners[name] = lst
                lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                lst.bind((self.host, (ports or {}).get(name, 0)))
                lst.listen(16)
                self.ports[name] = lst.getsockname()[1]
        except BaseException:
            self._close_listeners()
            raise
        self._wake_r, self._wake_w = socket.socketpair()
        self._acceptor = threading.Thread(target=self._accept_loop, name="labctl-sim-accept", daemon=True)
        self._acceptor.start()
        return self.resources

    def stop(self) -> None:
        """Stop accepting, close every connection and wait for the connection threads."""
        if self._acceptor is None:
            return
        self._stopping = True
        if self._wake_w is not None:
            self._wake_w.send(b"x")
        self._acceptor.join(5)
        self._acceptor = None
        with self._guard:
            conns, threads = list(self._conns), list(self._threads)
        for conn in conns:
            _shutdown(conn)
        for t in threads:
            t.join(5)
        for s in (self._wake_r, self._wake_w):
            if s is not None:
                s.close()
        self._wake_r = self._wake_w = None

    def __enter__(self) -> SimServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _close_listeners(self) -> None:
        for lst in self._listeners.values():
            lst.close()
        self._listeners.clear()

    # --- connections --------------------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        sel = selectors.DefaultSelector()
        for name, lst in self._listeners.items():
            sel.register(lst, selectors.EVENT_READ, name)
        assert self._wake_r is not None
        sel.register(self._wake_r, selectors.EVENT_READ, None)
        try:
            while not self._stopping:
                for key, _ in sel.select():
                    if key.data is None or self._stopping:
                        return
                    try:
                        conn, _addr = key.fileobj.accept()  # type: ignore[union-attr]
                    except OSError:
                        continue
                    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    t = threading.Thread(target=self._serve, args=(key.data, conn), daemon=True,
                                         name=f"labctl-sim-{key.data}")
                    with self._guard:
                        self._conns.add(conn)
                        self._threads.add(t)
                    t.start()
        finally:
            sel.close()
            self._close_listeners()

    def _serve(self, name: str, conn: socket.socket) -> None:
        try:
            self._serve_conn(name, conn)
        except OSError:
            pass
        finally:
            _shutdown(conn)
            conn.close()
            with self._guard:
                self._conns.discard(conn)
                self._threads.discard(threading.current_thread())

    def _recv(self, conn: socket.socket) -> bytes:
        """The next bytes from ``conn``: polled for ``spin`` s while this connection owns the spin, then blocking."""
        if self.spin > 0.0 and self._spinner is conn:
            end = time.perf_counter() + self.spin
            while self._spinner is conn and not self._stopping:
                try:
                    return conn.recv(_CHUNK, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    pass
                os.sched_yield()  # a busy machine runs its other work here; an idle one comes straight back
                if time.perf_counter() >= end:
                    break
        return conn.recv(_CHUNK)

    def _serve_conn(self, name: str, conn: socket.socket) -> None:
        handler = self.handlers[name]
        count = self._counters[name]
        faults, lock, sendall = self.faults, self._lock, conn.sendall
        buf = b""
        while not self._stopping:
            data = self._recv(conn)
            if not data:
                return
            if b"\r" in data:
                data = data.replace(b"\r", _NL)
            buf = buf + data if buf else data
            if _NL not in buf:
                continue
            *lines, buf = buf.split(_NL)
            for raw in lines:
                text = raw.decode(errors="replace").strip()
                if not text:
                    continue
                fault = faults.get(name)
                with lock:
                    self._spinner = conn
                    count.messages += 1
                    if fault is not None and fault.drop_after and count.messages % fault.drop_after == 0:
                        return
                    reply = handler(text)
                    if reply is None:
                        continue
                    count.replies += 1
                    n = count.replies
                if fault is not None:
                    if fault.latency:
                        time.sleep(fault.latency)
                    if fault.no_reply_every and n % fault.no_reply_every == 0:
                        continue
                    if fault.garble_every and n % fault.garble_every == 0:
                        reply = garble(reply)
                sendall(reply.encode() + _NL)


def _shutdown(conn: socket.socket) -> None:
    with suppress(OSError):  # already closed by the peer
        conn.shutdown(socket.SHUT_RDWR)
