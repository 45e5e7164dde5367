"""One cell of the array: the bounds check and pulses / reads of it that single-cell protocols share."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from labctl.core.access import BiasScheme, CrossbarAccess
from labctl.core.errors import ConfigError
from labctl.core.records import PulseRecord, ReadRecord
from protocols._base import RecordSink


def check_cell(access: CrossbarAccess, row: int, col: int) -> None:
    if not 0 <= row < access.rows:
        raise ConfigError.out_of_range("row", row, 0, access.rows - 1)
    if not 0 <= col < access.cols:
        raise ConfigError.out_of_range("col", col, 0, access.cols - 1)


@dataclass(frozen=True)
class OneCell:
    """Pulses and reads of the cell (``row``, ``col``), each record emitted to ``sink`` as of ``kind``."""

    access: CrossbarAccess
    sink: RecordSink
    row: int
    col: int
    kind: str

    async def pulse(self, volts: float, width: float, scheme: BiasScheme) -> PulseRecord:
        (rec,) = await self.access.pulse(self.row, [self.col], volts, width, scheme)
        self.sink.emit(dataclasses.replace(rec, kind=self.kind))
        return rec

    async def read(self, volts: float) -> ReadRecord:
        (rec,) = await self.access.read(self.row, [self.col], volts)
        self.sink.emit(dataclasses.replace(rec, kind=self.kind))
        return rec
