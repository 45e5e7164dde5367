"""The service's own configuration: which benches it owns and how much it accepts.

```yaml
# service.yaml
benches:
  - name: sim            # the name used in the API (/benches/sim)
    config: null         # a bench YAML; null = the embedded simulated bench
  - name: probe2
    config: benches/probe2.yaml
max_queued_jobs: 100
max_request_bytes: 65536
```
Relative bench paths resolve against the service file's folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from labctl.core.errors import ConfigError

#: bench and job names in URLs: short, URL-safe
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$"
Name = Annotated[str, Field(pattern=NAME_PATTERN, description="URL-safe name, 1-32 characters")]


class BenchEntry(BaseModel):
    """One bench the service opens in its lifespan."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    config: Path | None = Field(default=None, description="Bench YAML file; null = the embedded simulated bench")


class SweepsConfig(BaseModel):
    """Sweep jobs (``POST /trainer/jobs`` kind ``sweep``): where their chips run. Absent = no sweep jobs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    address: str | None = Field(default=None, description="Ray cluster address; null = a local Ray per sweep job")
    workers: int | None = Field(default=None, ge=1, le=100_000,
                                description="Chips in flight per sweep; null = the CPUs of the machine / cluster")
    max_chips: int = Field(default=10_000, ge=1, le=1_000_000, description="Most chips one sweep job may have")


class ServiceConfig(BaseModel):
    """Strict service configuration (``labctl serve --config FILE``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    benches: list[BenchEntry] = Field(
        default_factory=lambda: [BenchEntry(name="sim")], min_length=1, max_length=16,
        description="Benches this service owns (1-16); each runs one job at a time",
    )
    max_queued_jobs: int = Field(default=100, ge=1, le=10_000, description="Queued jobs accepted before 429, jobs")
    max_request_bytes: int = Field(
        default=64 * 1024, ge=1024, le=16 * 1024 * 1024, description="Largest request body, B"
    )
    progress_persist_interval: float = Field(
        default=0.5, ge=0.0, le=60.0, description="Least time between progress writes to the job table, s"
    )
    sweeps: SweepsConfig | None = Field(default=None, description="Enable sweep jobs over simulated chips (Ray)")

    @model_validator(mode="after")
    def _unique(self) -> ServiceConfig:
        names = [b.name for b in self.benches]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"bench names must be unique; repeated: {', '.join(dup)}")
        return self


def load_service_config(path: str | Path | None) -> ServiceConfig:
    """Load and validate a service YAML; ``None`` gives the default (the embedded simulated bench)."""
    if path is None:
        return ServiceConfig()
    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text()) or {}
    except OSError as exc:
        raise ConfigError(f"service config {str(p)!r} cannot be read: {exc}", field="config") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"service config {str(p)!r} is not valid YAML: {exc}", field="config") from exc
    try:
        cfg = ServiceConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "(root)"
        raise ConfigError(f"service config {str(p)!r}: {where}: {first['msg']}", field=where) from exc
    base = p.resolve().parent
    benches = [
        b if b.config is None or b.config.is_absolute() else b.model_copy(update={"config": base / b.config})
        for b in cfg.benches
    ]
    return cfg.model_copy(update={"benches": benches})
