"""A crossbar wired across several matrix mainframes: each mainframe gets only its own part of a route, in its own
numbering; a forbidden part on one mainframe stops the route before any mainframe switches."""

from __future__ import annotations

import pytest

from labctl.bench import DEFAULT_CONFIG, open_bench
from labctl.core import LimitError


async def test_routes_split_per_mainframe_and_check_every_part_first() -> None:
    sent: list[tuple[str, str]] = []
    async with open_bench(DEFAULT_CONFIG, transport="inproc", log=lambda r, m: sent.append((r, m))) as bench:
        xbar = bench.crossbars["xbar0"]
        sim = bench.simulation
        assert sim is not None
        # row 0 = wiring output 1 (matrix0a output 1); column 40 = output 105 (matrix0c output 9)
        await xbar.read(0, [40], 0.1)
        mats = sim.bench.matrices
        assert (1, 1) in mats["matrix0a"].closed  # the drive on row 0
        assert (5, 9) in mats["matrix0c"].closed  # the ground on column 40
        assert all(o <= 48 for m in ("matrix0a", "matrix0b", "matrix0c") for _, o in mats[m].closed)
        sent.clear()
        await xbar.read(0, [41], 0.1)  # only the columns move: matrix0c alone gets a routing message
        routed = {r.rsplit("/", 1)[-1] for r, m in sent if ":ROUT:CLOS" in m}
        assert routed == {"matrix0c"}
        assert (5, 10) in mats["matrix0c"].closed
        sent.clear()
        bench.instruments["matrix0c"].live_inputs = lambda: {5, 3}  # pretend a source on matrix0c is on
        with pytest.raises(LimitError, match="matrix0c: switching would hot-switch"):
            await xbar.read(1, [42], 0.1)  # rows move on matrix0a, columns on matrix0c
        assert not [m for _, m in sent if ":ROUT:CLOS (" in m]  # no mainframe switched
