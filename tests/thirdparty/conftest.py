"""``labctl sim serve --port BASE`` in a process of its own, serving the default simulated bench on loopback; the
third-party drivers reach it through pyvisa (pyvisa-py) on ``TCPIP::127.0.0.1::PORT::SOCKET``."""

from __future__ import annotations

import random
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from labctl.bench import DEFAULT_CONFIG
from labctl.core.config import load_bench_config


def _free_block(count: int) -> int:
    """A base port with ``count`` consecutive free loopback ports after it."""
    for _ in range(50):
        base = random.randrange(20000, 60000)
        socks = []
        try:
            for i in range(count):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", base + i))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no block of free loopback ports")


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, str]]:
    """name -> VISA resource of every instrument of the default bench, served by a child ``labctl sim serve``."""
    names = list(load_bench_config(DEFAULT_CONFIG).instruments)
    base = _free_block(len(names))
    proc = subprocess.Popen([sys.executable, "-m", "labctl", "sim", "serve", "--port", str(base)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().split("\t") for _ in names]
        served = {line[0]: line[2].strip() for line in lines}
        assert list(served) == names
        yield {n: f"TCPIP::127.0.0.1::{base + i}::SOCKET" for i, n in enumerate(names)}
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
