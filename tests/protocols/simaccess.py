"""A test-local CrossbarAccess straight over the physics (``sim_instruments.Crossbar``), no instruments.

Only for unit tests of protocols; the integration tests go through ``labctl.bench``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import numpy as np

from labctl.core import BiasScheme, PulseRecord, ReadRecord, SafetyLimits
from sim_instruments import Crossbar, NonIdealities, RRAMArray
from sim_instruments.presets import STANFORD_V1


class SimAccess:
    """Cell operations on a simulated crossbar; limits checked before the physics is touched."""

    def __init__(self, rows: int = 8, cols: int = 8, *, seed: int = 0, nonideal: NonIdealities | None = None,
                 limits: SafetyLimits | None = None, read_time: float = 1e-6) -> None:
        self.rows, self.cols = rows, cols
        self.limits = limits or SafetyLimits()
        self.xbar = Crossbar(RRAMArray((rows, cols), STANFORD_V1, seed=seed, nonideal=nonideal))
        self.read_time = read_time
        self.calls = {"pulse": 0, "read": 0, "infer": 0}
        self.pulsed = np.zeros((rows, cols), dtype=np.int64)

    def now(self) -> float:
        return self.xbar.time

    def _lines(self, row: int, cols: Sequence[int], v: float, scheme: BiasScheme) -> tuple[list[Any], list[Any]]:
        un_r: float | None
        un_c: float | None
        if scheme == BiasScheme.HALF:
            un_r = un_c = v / 2
        elif scheme == BiasScheme.THIRD:
            un_r, un_c = v / 3, 2 * v / 3
        elif scheme == BiasScheme.FLOATING:
            un_r = un_c = None
        else:
            un_r = un_c = 0.0
        rl: list[Any] = [un_r] * self.rows
        cl: list[Any] = [un_c] * self.cols
        rl[row] = v
        for c in cols:
            cl[c] = 0.0
        return rl, cl

    async def pulse(self, row: int, cols: Sequence[int], volts: float, width: float,
                    scheme: BiasScheme = BiasScheme.HALF, *, compliance: float | None = None
                    ) -> list[PulseRecord]:
        self.limits.check_program(volts, width)
        await asyncio.sleep(0)  # a real bench yields to the loop on I/O
        rl, cl = self._lines(row, cols, volts, scheme)
        if compliance is not None:  # the drive (selected row) limited for this pulse
            self.xbar.set_line_limits([compliance if i == row else None for i in range(self.rows)],
                                      [None] * self.cols)
        self.xbar.pulse(rl, cl, width)
        if compliance is not None:
            self.xbar.set_line_limits([None] * self.rows, [None] * self.cols)
        self.calls["pulse"] += 1
        t = self.now()
        out = []
        for c in cols:
            self.pulsed[row, c] += 1
            out.append(PulseRecord(row, c, volts, width, t, scheme=str(scheme)))
        return out

    async def read(self, row: int, cols: Sequence[int], volts: float) -> list[ReadRecord]:
        self.limits.check_read(volts)
        await asyncio.sleep(0)
        rl = [0.0] * self.rows
        rl[row] = volts
        _, ci = self.xbar.read(rl, [0.0] * self.cols, self.read_time)
        self.calls["read"] += 1
        t = self.now()
        return [ReadRecord(row, c, volts, float(-ci[c]), t) for c in cols]

    async def infer(self, row_volts: Sequence[float], cols: Sequence[int] | None = None) -> list[float]:
        for v in row_volts:
            self.limits.check_read(v)
        _, ci = self.xbar.read(list(row_volts), [0.0] * self.cols, self.read_time)
        self.calls["infer"] += 1
        sel = range(self.cols) if cols is None else cols
        return [float(-ci[c]) for c in sel]

    async def wait(self, seconds: float) -> None:
        """Virtual bench time passes (the physics idles: relaxation acts)."""
        self.xbar.idle(max(0.0, seconds))

    async def safe_state(self) -> None:
        return None

    async def snapshot(self) -> dict[str, Any]:
        return {"fake": "SimAccess", "rows": self.rows, "cols": self.cols, "limits": self.limits.model_dump()}
