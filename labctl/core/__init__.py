"""The lowest layer: errors, clocks, records, limits, capability protocols and config models."""

from labctl.core.access import BiasScheme, CrossbarAccess
from labctl.core.capabilities import Instrument, SourceMeasureUnit, SwitchMatrix
from labctl.core.clock import Clock, VirtualClock, WallClock
from labctl.core.errors import (
    ConfigError,
    InstrumentError,
    InstrumentReportedError,
    JobError,
    LabctlError,
    LimitError,
    ProtocolError,
    StoreError,
    TransportError,
)
from labctl.core.limits import SafetyLimits
from labctl.core.records import (
    CellOutcome,
    CellStatus,
    InferenceRecord,
    MapRecord,
    Progress,
    PulseRecord,
    ReadRecord,
    ResultRecord,
)

__all__ = [
    "BiasScheme",
    "CellOutcome",
    "CellStatus",
    "Clock",
    "ConfigError",
    "CrossbarAccess",
    "InferenceRecord",
    "Instrument",
    "InstrumentError",
    "InstrumentReportedError",
    "JobError",
    "LabctlError",
    "LimitError",
    "MapRecord",
    "Progress",
    "ProtocolError",
    "PulseRecord",
    "ReadRecord",
    "ResultRecord",
    "SafetyLimits",
    "SourceMeasureUnit",
    "StoreError",
    "SwitchMatrix",
    "TransportError",
    "VirtualClock",
    "WallClock",
]
