"""What the checks share: the bench config, the drivers as they are connected one by one, a count of the
messages sent to each instrument (so a refused request can be shown to have sent nothing), and the open bench."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labctl.bench import Bench
from labctl.core.capabilities import SourceMeasureUnit
from labctl.core.config import BenchConfig
from labctl.core.hil_config import HilConfig

log = logging.getLogger("labctl.hil")


@dataclass
class HilContext:
    config: BenchConfig
    crossbar: str
    allow_program: bool = False
    out: Path | None = None
    drivers: dict[str, Any] = field(default_factory=dict)
    configure_errors: dict[str, str] = field(default_factory=dict)
    bench: Bench | None = None
    sent: Counter[str] = field(default_factory=Counter)

    @property
    def hil(self) -> HilConfig:
        return self.config.hil or HilConfig.model_validate({})

    @property
    def read_voltage(self) -> float:
        v = self.hil.read_voltage
        return min(v, self.config.limits.read_clamp) if v is not None else self.config.limits.read_clamp / 2

    def log_message(self, resource: str, message: str) -> None:
        """Transport log: counts every message sent, per resource."""
        self.sent[resource] += 1

    def sent_to(self, name: str) -> int:
        return self.sent[self.config.instruments[name].resource]

    def sources(self) -> dict[str, Any]:
        """The SMU drivers (a function generator has no compliance or read and is not one)."""
        return {n: d for n, d in self.drivers.items()
                if not self.config.instruments[n].is_matrix and isinstance(d, SourceMeasureUnit)}

    def outputs(self) -> dict[str, Any]:
        """Every instrument with outputs that can be on: SMUs and generators."""
        return {n: d for n, d in self.drivers.items() if not self.config.instruments[n].is_matrix}

    def matrices(self) -> dict[str, Any]:
        return {n: d for n, d in self.drivers.items() if self.config.instruments[n].is_matrix}

    async def close(self) -> None:
        """Safe state (when the bench was opened), then release every link."""
        if self.bench is not None:
            await self.bench.safe_state(reason="hil checks done")
        for d in self.drivers.values():
            try:
                await d.disconnect()
            except Exception as exc:  # a dead link must not hide the report
                log.warning("%s: disconnect failed: %s", d.name, exc)
        await asyncio.sleep(0)
