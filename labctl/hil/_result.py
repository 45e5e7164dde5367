"""Results of the hardware-in-the-loop checks: one :class:`CheckResult` per check, gathered in a :class:`HilReport`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"


@dataclass
class CheckResult:
    """One check: its verdict, a one-line summary a technician can act on, and the evidence behind it."""

    key: str
    title: str
    status: Status
    summary: str
    evidence: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["status"] = str(self.status)
        return out


@dataclass
class HilReport:
    """Every check of one ``labctl hil`` run, in order."""

    bench: str
    crossbar: str
    started: str
    allow_program: bool
    results: list[CheckResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.status != Status.FAIL for r in self.results)

    def result(self, key: str) -> CheckResult:
        for r in self.results:
            if r.key == key:
                return r
        raise KeyError(f"check {key!r} is not in the report; checks: {[r.key for r in self.results]}")

    def to_json(self) -> dict[str, Any]:
        return {"bench": self.bench, "crossbar": self.crossbar, "started": self.started,
                "allow_program": self.allow_program, "ok": self.ok,
                "checks": [r.to_json() for r in self.results]}
