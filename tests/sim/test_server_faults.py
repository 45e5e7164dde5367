"""``SimServer`` over real loopback sockets: framing, atomic handling across connections, every fault, stop."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from labctl.core.config import FaultConfig
from sim_instruments.server import SimServer, garble


class Recorder:
    """A handler that answers ``name?`` with ``name!`` and fails the test if two calls ever overlap."""

    def __init__(self, hold: float = 0.0) -> None:
        self.seen: list[str] = []
        self.busy = False
        self.overlaps = 0
        self.hold = hold

    def __call__(self, text: str) -> str | None:
        if self.busy:
            self.overlaps += 1
        self.busy = True
        try:
            if self.hold:
                time.sleep(self.hold)
            self.seen.append(text)
            return text[:-1] + "!" if text.endswith("?") else None
        finally:
            self.busy = False


def connect(server: SimServer, name: str = "a") -> socket.socket:
    s = socket.create_connection(("127.0.0.1", server.ports[name]), timeout=2)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def lines(sock: socket.socket, count: int) -> list[str]:
    buf = b""
    while buf.count(b"\n") < count:
        chunk = sock.recv(4096)
        if not chunk:
            break
        buf += chunk
    return buf.decode().splitlines()


@pytest.fixture(params=[0.0, 1e-3], ids=["blocking", "spin"])
def served(request: pytest.FixtureRequest) -> Iterator[tuple[SimServer, Recorder]]:
    rec = Recorder()
    server = SimServer({"a": rec, "b": rec}, serial={"b"}, spin=request.param)
    server.start()
    yield server, rec
    server.stop()


def test_resources_name_the_ports(served: tuple[SimServer, Recorder]) -> None:
    server, _ = served
    assert server.resources == {"a": f"TCPIP::127.0.0.1::{server.ports['a']}::SOCKET",
                                "b": f"ASRLsocket://127.0.0.1:{server.ports['b']}::INSTR"}


def test_framing_cr_lf_split_and_batched(served: tuple[SimServer, Recorder]) -> None:
    server, rec = served
    with connect(server) as s:
        s.sendall(b"x1?\r\n  \n x2? \rCMD\nx")  # CR, CRLF, blank lines, padding, a message split across segments
        time.sleep(0.05)
        s.sendall(b"3?\n")
        assert lines(s, 3) == ["x1!", "x2!", "x3!"]
    assert rec.seen == ["x1?", "x2?", "CMD", "x3?"]


def test_messages_are_atomic_across_connections() -> None:
    rec = Recorder(hold=2e-4)
    with SimServer({"a": rec, "b": rec}) as server:
        def client(name: str, k: int, out: list[bool]) -> None:
            with connect(server, name) as s:
                for i in range(40):
                    s.sendall(f"{name}{k}-{i}?\n".encode())
                    out.append(lines(s, 1) == [f"{name}{k}-{i}!"])

        results: list[bool] = []
        threads = [threading.Thread(target=client, args=(n, k, results)) for n in "ab" for k in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert len(results) == 240
    assert all(results)
    assert rec.overlaps == 0
    assert len(rec.seen) == 240


def test_latency_delays_the_reply(served: tuple[SimServer, Recorder]) -> None:
    server, _ = served
    server.faults["a"] = FaultConfig.model_validate({"latency": 0.1})
    with connect(server) as s:
        t = time.perf_counter()
        s.sendall(b"q?\n")
        assert lines(s, 1) == ["q!"]
        assert time.perf_counter() - t >= 0.1
        server.faults["a"] = FaultConfig.model_validate({})  # changed at run time, on an open connection
        t = time.perf_counter()
        s.sendall(b"q?\n")
        assert lines(s, 1) == ["q!"]
        assert time.perf_counter() - t < 0.1


def test_no_reply_every_second_reply_is_swallowed_but_executed(served: tuple[SimServer, Recorder]) -> None:
    server, rec = served
    server.faults["a"] = FaultConfig.model_validate({"no_reply_every": 2})
    with connect(server) as s:
        s.sendall(b"r1?\nr2?\nr3?\nr4?\nr5?\n")
        assert lines(s, 3) == ["r1!", "r3!", "r5!"]
        s.settimeout(0.1)
        with pytest.raises(TimeoutError):
            s.recv(100)
    assert rec.seen == ["r1?", "r2?", "r3?", "r4?", "r5?"]


def test_drop_after_closes_before_executing(served: tuple[SimServer, Recorder]) -> None:
    server, rec = served
    server.faults["a"] = FaultConfig.model_validate({"drop_after": 3})
    with connect(server) as s:
        s.sendall(b"d1?\nd2?\n")
        assert lines(s, 2) == ["d1!", "d2!"]
        s.sendall(b"d3?\n")
        assert s.recv(100) == b""  # closed by the server
    assert rec.seen == ["d1?", "d2?"]
    with connect(server) as s:  # a new connection is served again (messages counted per instrument)
        s.sendall(b"d4?\n")
        assert lines(s, 1) == ["d4!"]


def test_garble_every_reply(served: tuple[SimServer, Recorder]) -> None:
    server, _ = served
    server.faults["b"] = FaultConfig.model_validate({"garble_every": 1})
    with connect(server, "b") as s, connect(server, "a") as clean:
        s.sendall(b"+1.0E-06?\n")
        assert lines(s, 1) == [garble("+1.0E-06!")]
        clean.sendall(b"+1.0E-06?\n")  # faults are per instrument
        assert lines(clean, 1) == ["+1.0E-06!"]
    assert garble("+1.0E-06!") != "+1.0E-06!"


def test_stop_closes_connections_and_frees_the_ports() -> None:
    rec = Recorder()
    server = SimServer({"a": rec})
    server.start()
    port = server.ports["a"]
    s = connect(server)
    s.sendall(b"x?\n")
    assert lines(s, 1) == ["x!"]
    with pytest.raises(RuntimeError, match="already running"):
        server.start()
    before = threading.active_count()
    server.stop()
    assert s.recv(100) == b""
    s.close()
    assert threading.active_count() < before
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    server.stop()  # idempotent
    server.start({"a": port})  # restartable, on the same port
    with connect(server) as s2:
        s2.sendall(b"y?\n")
        assert lines(s2, 1) == ["y!"]
    server.stop()


def test_spin_is_bounded() -> None:
    with pytest.raises(ValueError, match=r"spin = 1 s is out of range; allowed \[0, 0.1\]"):
        SimServer({}, spin=1)
