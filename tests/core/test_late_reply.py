"""A reply that arrives after its query timed out is never taken for the answer to the next command.

A loopback TCP instrument answers its first query late (after the client's timeout) and every later one at once;
without a fresh link the late "OLD" reply would be read as the answer to the second query.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest

from labctl.core.errors import TransportError
from labctl.core.transports import open_transport


def _slow_first_server(delay: float) -> tuple[socket.socket, threading.Event]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    done = threading.Event()

    def serve() -> None:
        first = True
        srv.settimeout(10)
        while not done.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                buf = b""
                while not done.is_set():
                    try:
                        chunk = conn.recv(1024)
                    except OSError:
                        break
                    if not chunk:
                        break
                    buf += chunk
                    while b"\n" in buf:
                        line, buf = buf.split(b"\n", 1)
                        if first:
                            first = False
                            time.sleep(delay)
                            reply = b"OLD\n"
                        else:
                            reply = b"NEW " + line + b"\n"
                        try:
                            conn.sendall(reply)
                        except OSError:
                            break

    threading.Thread(target=serve, daemon=True).start()
    return srv, done


def test_late_reply_is_not_read_as_the_next_answer() -> None:
    srv, done = _slow_first_server(delay=0.6)
    link = open_transport(f"TCPIP::127.0.0.1::{srv.getsockname()[1]}::SOCKET", timeout=0.2)

    async def run() -> str:
        with pytest.raises(TransportError, match="timeout"):
            await link.query("FIRST?")
        await asyncio.sleep(0.8)  # the late reply has arrived on the old connection by now
        reply = await link.query("SECOND?")
        await link.close()
        return reply

    try:
        assert asyncio.run(run()) == "NEW SECOND?"
    finally:
        done.set()
        srv.close()


def test_a_query_cancelled_in_flight_keeps_its_reply_to_itself() -> None:
    """A task cancelled while its query is in flight (a deadline, an interrupted operation): the exchange still runs
    to its end on its own thread, and the link is not given to the next message before it has, so the next query
    reads its own reply. Here the cancelled query's thread is slow to send (a loaded machine): had the next query
    gone out first, it would have read the reply meant for the first line the instrument received ("OLD"). (With
    pyvisa-py's TCP sessions the second write also waits for the first; the transport does not rely on that.)"""
    srv, done = _slow_first_server(delay=0.3)
    link = open_transport(f"TCPIP::127.0.0.1::{srv.getsockname()[1]}::SOCKET", timeout=2.0)
    write = link._write  # type: ignore[attr-defined]
    sent: list[str] = []

    def slow_first_write(message: str) -> None:
        if not sent:
            time.sleep(0.3)
        sent.append(message)
        write(message)

    link._write = slow_first_write  # type: ignore[attr-defined]

    async def run() -> str:
        task = asyncio.create_task(link.query("FIRST?"))
        await asyncio.sleep(0.1)  # its thread has not sent it yet
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        reply = await link.query("SECOND?")
        await link.close()
        return reply

    try:
        assert asyncio.run(run()) == "NEW SECOND?"
        assert sent == ["FIRST?", "SECOND?"]
    finally:
        done.set()
        srv.close()
