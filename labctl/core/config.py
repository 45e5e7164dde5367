"""Bench configuration: strict pydantic models loaded from YAML (``load_bench_config``).

A bench YAML names its instruments (driver + resource + optional tighter limits), its crossbars (geometry and
wiring: which matrix input is fed by which SMU channel with which role, which matrix outputs land on the rows
and columns), the bench-wide ``limits`` (:class:`SafetyLimits`) and, for a simulated bench, a ``sim`` section.

A resource string alone chooses the transport: ``sim`` (a simulated instrument served on loopback TCP by
``labctl.bench``), ``TCPIP::host::port::SOCKET`` / ``GPIB0::24::INSTR`` / ... (pyvisa with pyvisa-py),
``ASRL<port>::INSTR`` or ``ASRLsocket://host:port::INSTR`` (pyserial), ``<file.yaml>@sim`` (pyvisa-sim).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from labctl.core.errors import ConfigError
from labctl.core.hil_config import HilConfig
from labctl.core.limits import SafetyLimits

SMU_DRIVERS = ("keithley_2450", "keysight_b2902", "keithley_2400")
MATRIX_DRIVERS = ("keysight_b2201a", "keithley_707b")
Driver = Literal["keithley_2450", "keysight_b2902", "keithley_2400", "keysight_b2201a", "keithley_707b"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Role(StrEnum):
    """What a matrix input is used for while a crossbar is pulsed or read."""

    DRIVE = "drive"  # the selected row: pulse amplitude, read voltage, inference row voltages
    BIAS = "bias"  # unselected rows and columns (V/2), unselected rows (V/3)
    BIAS_ROW = "bias_row"  # unselected rows (V/2 or V/3)
    BIAS_COL = "bias_col"  # unselected columns (V/2 or 2V/3)
    SENSE = "sense"  # the selected column during reads: held at 0 V, current measured
    GROUND = "ground"  # a matrix input tied to ground (no source)
    SPARE = "spare"  # wired but not used by the crossbar access code


class InstrumentLimits(_Strict):
    """Per-instrument limits; each must be at most the bench-wide one (checked at load)."""

    max_voltage: float | None = Field(None, gt=0, le=210, description="Largest |V| this source may output, V")
    compliance: float | None = Field(None, gt=0, le=3, description="Current compliance of this source, A")


class InstrumentConfig(_Strict):
    """One instrument: which driver, where it answers, and its own limits."""

    driver: Driver = Field(description="Driver name")
    resource: str = Field(min_length=1, description="VISA/serial resource string, or 'sim' on a simulated bench")
    timeout: float = Field(2.0, gt=0, le=120, description="I/O timeout, s")
    retries: int = Field(2, ge=0, le=10, description="Retries of queries that are safe to repeat")
    limits: InstrumentLimits = Field(default_factory=lambda: InstrumentLimits.model_validate({}))
    cards: int = Field(2, ge=1, le=6, description="Switch matrix: cards (B2201A) or slots (707B) fitted")
    outputs_per_card: int = Field(64, ge=1, le=99, description="Switch matrix: DUT-side outputs per card")
    inputs: int = Field(14, ge=1, le=14, description="Switch matrix: instrument-side inputs")
    baud: int = Field(9600, description="Serial baud rate (RS-232 instruments)")

    @property
    def is_matrix(self) -> bool:
        return self.driver in MATRIX_DRIVERS


class InputWiring(_Strict):
    """One matrix input: the SMU channel feeding it (none for ground) and its roles."""

    input: int = Field(ge=1, le=14, description="Matrix input (instrument side), 1-based")
    source: str | None = Field(None, description="Instrument name of the SMU feeding this input (None: ground)")
    channel: int = Field(1, ge=1, le=2, description="SMU channel, 1-based")
    roles: tuple[Role, ...] = Field(min_length=1, description="Roles of this input")


class LineBlock(_Strict):
    """Consecutive crossbar lines on consecutive matrix outputs: line i -> output ``first_output + i``."""

    first_output: int = Field(ge=1, le=594, description="Matrix output of line 0 (1-based, card-major)")


class CrossbarWiring(_Strict):
    matrix: str = Field(description="Instrument name of the switch matrix")
    inputs: tuple[InputWiring, ...] = Field(min_length=1)
    rows: LineBlock
    cols: LineBlock


class CrossbarConfig(_Strict):
    """One crossbar: its geometry and wiring."""

    rows: int = Field(ge=1, le=1024, description="Number of rows (top-electrode lines)")
    cols: int = Field(ge=1, le=1024, description="Number of columns (bottom-electrode lines)")
    wiring: CrossbarWiring


class FaultConfig(_Strict):
    """Faults injected by a simulated instrument (all off by default)."""

    latency: float = Field(0.0, ge=0, le=5, description="Wall-clock delay added before every reply, s")
    no_reply_every: int = Field(0, ge=0, description="Swallow every N-th reply (0: never)")
    drop_after: int = Field(0, ge=0, description="Close the connection after N messages (0: never)")
    garble_every: int = Field(0, ge=0, description="Corrupt every N-th reply (0: never)")
    stuck_relays: tuple[tuple[int, int], ...] = Field((), description="(input, output) crosspoints that never move")


class SimTiming(_Strict):
    """Virtual-time model of the simulated instruments."""

    command: float = Field(2e-4, ge=0, le=1, description="Parse/execute time per command message, s")
    relay_settle: float = Field(3e-3, ge=0, le=1, description="Relay operate+settle time per switching event, s")
    aperture: float = Field(2e-4, ge=0, le=1, description="Current measurement aperture (0.01 NPLC class), s")
    read_duration: float = Field(1e-3, ge=0, le=1, description="Time a read voltage is held per measurement, s")


class SimConfig(_Strict):
    """Physics preset, seed and non-idealities of a simulated bench."""

    preset: str = Field("stanford_v1", description="Physics preset name (sim_instruments.presets.PRESETS)")
    seed: int | None = Field(0, description="Random seed of the physics")
    params: dict[str, float | bool] = Field(
        default_factory=dict, description="Overrides of the preset's StanfordParams fields (SI units)"
    )
    nonideal: dict[str, float | bool | None] = Field(
        default_factory=dict, description="Fields of sim_instruments.NonIdealities"
    )
    timing: SimTiming = Field(default_factory=lambda: SimTiming.model_validate({}))
    faults: dict[str, FaultConfig] = Field(default_factory=dict, description="Faults per instrument name")


class BenchConfig(_Strict):
    """A bench: instruments, crossbars (geometry + wiring), limits, and the sim section when simulated."""

    name: str = "bench"
    instruments: dict[str, InstrumentConfig] = Field(min_length=1)
    crossbars: dict[str, CrossbarConfig] = Field(min_length=1)
    limits: SafetyLimits = Field(default_factory=lambda: SafetyLimits.model_validate({}))
    sim: SimConfig | None = None
    hil: HilConfig | None = Field(None, description="Hardware-in-the-loop checks: test area, expectations")

    @property
    def simulated(self) -> bool:
        return self.sim is not None

    @model_validator(mode="after")
    def _consistent(self) -> BenchConfig:
        errors: list[str] = []
        for name, inst in self.instruments.items():
            if inst.resource == "sim" and self.sim is None:
                errors.append(f"instruments.{name}.resource = 'sim' needs a 'sim' section")
            lim = inst.limits
            if lim.max_voltage is not None and lim.max_voltage > self.limits.max_program_voltage:
                errors.append(f"instruments.{name}.limits.max_voltage = {lim.max_voltage:g} V is out of range; "
                              f"allowed (0, {self.limits.max_program_voltage:g}] V (limits.max_program_voltage)")
            if lim.compliance is not None and lim.compliance > self.limits.compliance:
                errors.append(f"instruments.{name}.limits.compliance = {lim.compliance:g} A is out of range; "
                              f"allowed (0, {self.limits.compliance:g}] A (limits.compliance)")
        for xname, xb in self.crossbars.items():
            errors += _check_wiring(self, f"crossbars.{xname}", xb)
        if self.sim is not None:
            for fname in self.sim.faults:
                if fname not in self.instruments:
                    errors.append(f"sim.faults.{fname}: unknown instrument; allowed: {', '.join(self.instruments)}")
        if self.hil is not None and self.hil.test_area is not None:
            errors += _check_test_area(self, self.hil.test_area)
        if errors:
            raise ValueError("; ".join(errors))
        return self


def _check_test_area(cfg: BenchConfig, area: Any) -> list[str]:
    xb = cfg.crossbars.get(area.crossbar)
    if xb is None:
        return [f"hil.test_area.crossbar = {area.crossbar!r}: unknown crossbar; allowed: {', '.join(cfg.crossbars)}"]
    (r0, c0), (nr, nc) = area.origin, area.shape
    if r0 + nr > xb.rows or c0 + nc > xb.cols:
        return [f"hil.test_area: rows {r0}..{r0 + nr - 1}, cols {c0}..{c0 + nc - 1} are out of range; allowed "
                f"rows 0..{xb.rows - 1}, cols 0..{xb.cols - 1} ({area.crossbar})"]
    return []


def _check_wiring(cfg: BenchConfig, path: str, xb: CrossbarConfig) -> list[str]:
    errors: list[str] = []
    w = xb.wiring
    mat = cfg.instruments.get(w.matrix)
    if mat is None or not mat.is_matrix:
        return [f"{path}.wiring.matrix = {w.matrix!r} is invalid; allowed: a switch-matrix instrument "
                f"({', '.join(n for n, i in cfg.instruments.items() if i.is_matrix) or 'none defined'})"]
    n_out = mat.cards * mat.outputs_per_card
    for label, block, n in (("rows", w.rows, xb.rows), ("cols", w.cols, xb.cols)):
        last = block.first_output + n - 1
        if last > n_out:
            errors.append(f"{path}.wiring.{label}.first_output = {block.first_output} is out of range; allowed "
                          f"[1, {n_out - n + 1}] ({n} lines on {n_out} matrix outputs)")
    r0, c0 = w.rows.first_output, w.cols.first_output
    if r0 < c0 + xb.cols and c0 < r0 + xb.rows:
        errors.append(f"{path}.wiring: row outputs [{r0}, {r0 + xb.rows - 1}] overlap column outputs "
                      f"[{c0}, {c0 + xb.cols - 1}]")
    seen: set[int] = set()
    roles: set[Role] = set()
    for k, inp in enumerate(w.inputs):
        p = f"{path}.wiring.inputs[{k}]"
        if inp.input in seen:
            errors.append(f"{p}.input = {inp.input} is wired twice")
        seen.add(inp.input)
        if inp.input > mat.inputs:
            errors.append(f"{p}.input = {inp.input} is out of range; allowed [1, {mat.inputs}]")
        roles.update(inp.roles)
        if Role.GROUND in inp.roles:
            if inp.source is not None:
                errors.append(f"{p}.source = {inp.source!r} is invalid; allowed: none for a ground input")
            continue
        if inp.source is None:
            errors.append(f"{p}.source is missing; allowed: an SMU instrument name")
            continue
        src = cfg.instruments.get(inp.source)
        if src is None or src.is_matrix:
            errors.append(f"{p}.source = {inp.source!r} is invalid; allowed: an SMU instrument name")
        elif inp.channel > (2 if src.driver == "keysight_b2902" else 1):
            errors.append(f"{p}.channel = {inp.channel} is out of range for {src.driver}")
    for need in (Role.DRIVE, Role.SENSE, Role.GROUND):
        if need not in roles:
            errors.append(f"{path}.wiring.inputs: no input has role {need.value!r} (needed for pulses and reads)")
    if not roles & {Role.BIAS, Role.BIAS_ROW}:
        errors.append(f"{path}.wiring.inputs: no input has role 'bias' or 'bias_row' (needed for V/2 pulses)")
    return errors


def _format(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        ctx = err.get("ctx") or {}
        bounds = [f"{k.replace('_', ' ')} {v}" for k, v in ctx.items() if k in ("gt", "ge", "lt", "le")]
        allowed = f" (allowed: {', '.join(bounds)})" if bounds else ""
        got = f" got {err['input']!r}:" if err["type"] not in ("missing",) and not isinstance(err["input"], dict) \
            else ""
        lines.append(f"{loc}:{got} {msg}{allowed}")
    return "\n".join(lines)


def parse_bench_config(data: Any, *, source: str = "<config>") -> BenchConfig:
    """Validate a mapping; raise ``ConfigError`` listing every error with its path and allowed range."""
    if not isinstance(data, dict):
        raise ConfigError.invalid(source, type(data).__name__, "a YAML mapping")
    try:
        return BenchConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {exc.error_count()} error(s)\n{_format(exc)}") from None


def load_bench_config(path: str | Path) -> BenchConfig:
    """Load and validate a bench YAML file."""
    import yaml

    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ConfigError.invalid("path", str(p), f"a readable bench YAML file ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML: {exc}") from None
    return parse_bench_config(data, source=str(p))
