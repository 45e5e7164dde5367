"""The sweep spec: chips = seeds x variants of the bench's simulated section, times one job.

A variant is a generic, deep-merged override of the bench YAML's ``sim:`` section (``nonideal.d2d``,
``nonideal.stuck_on``, ``params.delta_g0``, any field a newer ``SimConfig`` grows) plus an optional array size
applied to every crossbar. The chip's seed becomes ``sim.seed`` (its own device-to-device draw, stuck cells and
noise). Every variant's bench is built and validated, and the job's parameters parsed, when the spec is loaded:
a bad spec fails before any chip is started, with the field, the value and what is allowed.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from labctl.core.config import BenchConfig, parse_bench_config
from labctl.core.errors import ConfigError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
SWEEP_JOBS = ("protocol", "loop", "digits")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ArraySize(_Strict):
    """Rows and columns of every crossbar of the chip (the wiring must have the matrix outputs for them)."""

    rows: int = Field(ge=1, le=4096, description="Rows (word lines) per crossbar")
    cols: int = Field(ge=1, le=4096, description="Columns (bit lines) per crossbar")


class Variant(_Strict):
    """One variant of the simulated chip."""

    name: str = Field(description="Variant name: letters, digits, '_' or '-' (<= 40), unique in the sweep")
    sim: dict[str, Any] = Field(default_factory=dict, description=(
        "Deep-merged override of the bench's sim: section, e.g. {nonideal: {d2d: 0.1, stuck_on: 0.01}}"))
    array: ArraySize | None = Field(None, description="Array size of every crossbar; the bench's when unset")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError("allowed: letters, digits, '_' or '-', starting with a letter or digit, <= 40 chars")
        return v

    @field_validator("sim")
    @classmethod
    def _no_seed(cls, v: dict[str, Any]) -> dict[str, Any]:
        if "seed" in v:
            raise ValueError("sim.seed is set per chip from the sweep's seeds; allowed: any other sim field")
        return v


class Seeds(_Strict):
    """A range of chip seeds: start, start + 1, ..., start + count - 1."""

    start: int = Field(0, ge=0, description="First seed")
    count: int = Field(ge=1, le=100_000, description="Number of seeds (chips per variant)")


class ProtocolJob(_Strict):
    """One protocol per chip (``program``, ``read_map``, ``scan`` when registered, ...), journalled and resumable
    cell by cell when the protocol is."""

    kind: Literal["protocol"] = "protocol"
    protocol: str = Field(description="protocols.REGISTRY name, e.g. program or read_map")
    crossbar: str = Field("xbar0", description="Crossbar of the bench the protocol runs on")
    params: dict[str, Any] = Field(default_factory=dict, description="The protocol's parameters")


class LoopJob(_Strict):
    """The full loop (``labctl loop``) per chip: its LoopOptions except out, bench, store and transport."""

    kind: Literal["loop"]
    options: dict[str, Any] = Field(default_factory=dict, description="labctl.jobs.closed_loop.LoopOptions fields")


class DigitsJob(_Strict):
    """Digits chip-in-the-loop per chip: DigitsRecoveryOptions except out, bench, store and transport."""

    kind: Literal["digits"]
    options: dict[str, Any] = Field(default_factory=dict,
                                    description="labctl.jobs.digits_recovery.DigitsRecoveryOptions fields")


Job = Annotated[ProtocolJob | LoopJob | DigitsJob, Field(discriminator="kind")]
_RESERVED = ("out", "bench", "store", "transport")


class SweepSpec(_Strict):
    """A Monte-Carlo sweep over simulated chips."""

    name: str = Field(description="Sweep name: letters, digits, '_' or '-' (<= 40)")
    bench: str | None = Field(None, description="Base bench YAML (relative to the spec file); None = embedded sim")
    seeds: list[int] | Seeds = Field(description="Chip seeds: a list, or {start, count}")
    variants: list[Variant] = Field(default_factory=lambda: [Variant(name="base", array=None)], min_length=1,
                                    description="Variants of the simulated chip (default: the bench as it is)")
    job: Job = Field(description="What runs on every chip")
    retries: int = Field(3, ge=0, le=100, description="Ray retries of a chip whose worker died")
    transport: Literal["visa", "inproc"] = Field(
        "visa", description="visa: every chip's instruments on loopback TCP through pyvisa (the real stack); "
                            "inproc: in-process transports (unit tests)")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return Variant._name(v)

    @field_validator("job", mode="before")
    @classmethod
    def _default_kind(cls, v: Any) -> Any:
        return {"kind": "protocol", **v} if isinstance(v, dict) and "kind" not in v else v

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v: list[int] | Seeds) -> list[int] | Seeds:
        if isinstance(v, list) and (not v or len(set(v)) != len(v) or min(v) < 0):
            raise ValueError("allowed: a non-empty list of distinct seeds >= 0, or {start, count}")
        return v

    @model_validator(mode="after")
    def _unique_variants(self) -> SweepSpec:
        names = [v.name for v in self.variants]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"variants: names must be unique; repeated: {', '.join(dup)}")
        if not isinstance(self.job, ProtocolJob):
            bad = sorted(set(self.job.options) & set(_RESERVED))
            if bad:
                raise ValueError(f"job.options.{bad[0]} is set by the sweep; allowed: any option except "
                                 f"{', '.join(_RESERVED)}")
        return self

    def seed_list(self) -> list[int]:
        s = self.seeds
        return list(s) if isinstance(s, list) else list(range(s.start, s.start + s.count))


class Chip(_Strict):
    """One chip of a sweep: what a worker needs to run it (no file of the driver's machine but the sweep dir)."""

    id: str
    variant: str
    seed: int
    bench: dict[str, Any] = Field(description="The chip's full bench config (JSON), validated")
    job: Job
    transport: Literal["visa", "inproc"] = "visa"

    @field_validator("job", mode="before")
    @classmethod
    def _default_kind(cls, v: Any) -> Any:
        return SweepSpec._default_kind(v)


def parse_spec(data: Any, *, source: str = "<sweep spec>") -> SweepSpec:
    """Validate a mapping; ``ConfigError`` names the field, the value and the allowed range."""
    if not isinstance(data, dict):
        raise ConfigError.invalid(source, type(data).__name__, "a YAML mapping")
    try:
        return SweepSpec.model_validate(data)
    except ValidationError as exc:
        lines = []
        for e in exc.errors():
            loc = ".".join(str(p) for p in e["loc"]) or "(spec)"
            lines.append(f"  {loc} = {e.get('input')!r}: {e['msg']}")
        raise ConfigError(f"{source}: {exc.error_count()} error(s)\n" + "\n".join(lines)) from None


def load_spec(path: str | Path) -> tuple[SweepSpec, Path]:
    """Load a sweep YAML; returns the spec and the folder relative paths in it are resolved against."""
    import yaml

    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError.invalid("SPEC", str(p), f"a readable YAML file ({exc})") from None
    return parse_spec(data, source=str(p)), p.resolve().parent


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def variant_bench(base: BenchConfig, variant: Variant, seed: int) -> BenchConfig:
    """The base bench with the variant's sim override, array size and the chip's seed; ``ConfigError`` if invalid."""
    if base.sim is None:
        raise ConfigError.invalid("bench", base.name, "a simulated bench (one with a sim: section)")
    data = base.model_dump(mode="json")
    data["sim"] = _merge(data["sim"], variant.sim) | {"seed": seed}
    if variant.array is not None:
        for xb in data["crossbars"].values():
            xb["rows"], xb["cols"] = variant.array.rows, variant.array.cols
    return parse_bench_config(data, source=f"variants[{variant.name}] bench")


def check_job(job: ProtocolJob | LoopJob | DigitsJob, bench: BenchConfig) -> None:
    """Parse the job's parameters (protocol registry / job options) and check its crossbar exists."""
    if isinstance(job, ProtocolJob):
        import protocols

        protocols.get(job.protocol).parse(job.params)
        if job.crossbar not in bench.crossbars:
            raise ConfigError.invalid("job.crossbar", job.crossbar, ", ".join(bench.crossbars))
    elif isinstance(job, LoopJob):
        from labctl.jobs.closed_loop import LoopOptions

        LoopOptions.parse(**job.options)
    else:
        from labctl.jobs.digits_recovery import DigitsRecoveryOptions

        DigitsRecoveryOptions.parse(**job.options)


def expand(spec: SweepSpec, root: Path | None = None) -> list[Chip]:
    """Every chip of the sweep (variant-major, then seed), each with its validated bench."""
    from labctl.core.config import load_bench_config

    if spec.bench is None:
        from labctl.bench import DEFAULT_CONFIG

        bench_path = DEFAULT_CONFIG
    else:
        bench_path = Path(spec.bench)
        if not bench_path.is_absolute() and root is not None:
            bench_path = root / bench_path
    base = load_bench_config(bench_path)
    chips = []
    for v in spec.variants:
        first = variant_bench(base, v, 0)
        check_job(spec.job, first)
        for seed in spec.seed_list():
            cfg = first.model_copy(update={"sim": first.sim.model_copy(update={"seed": seed})}) if first.sim else first
            chips.append(Chip(id=f"{v.name}-s{seed}", variant=v.name, seed=seed, bench=cfg.model_dump(mode="json"),
                              job=spec.job, transport=spec.transport))
    return chips


def schema() -> dict[str, Any]:
    """The JSON schema of the sweep spec (``labctl sweep --schema``)."""
    return SweepSpec.model_json_schema()
