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
from labctl.core.matrix_models import MATRIX_MODELS
from labctl.core.smu_limits import smu_limit_errors

SMU_DRIVERS = ("keithley_2450", "keysight_b2902", "keithley_2400", "keithley_2600b")
MATRIX_DRIVERS = ("keysight_b2201a", "keithley_707b")
GENERATOR_DRIVERS = ("keysight_33500b",)
GENERATOR_R_OUT = 50.0
"""Output resistance of a function generator, ohm: it bounds the current (no compliance to set)."""
Driver = Literal["keithley_2450", "keysight_b2902", "keithley_2400", "keithley_2600b", "keysight_b2201a",
                 "keithley_707b", "keysight_33500b"]
SMU_CHANNELS = {"keysight_b2902": 2, "keithley_2600b": 2, **{g: 2 for g in GENERATOR_DRIVERS}}
"""Source channels of the multi-channel drivers (the others have one)."""


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
    PULSE = "pulse"  # a generator channel: the selected row during every programming pulse
    PULSE_BIAS = "pulse_bias"  # a generator channel: unselected lines at V/2 during generator pulses
    COLUMN = "column"  # an SMU channel of parallel write-verify: one selected column, its pulses and verify reads


class InstrumentLimits(_Strict):
    """Per-instrument limits; each must be at most the bench-wide one (checked at load)."""

    max_voltage: float | None = Field(None, gt=0, description="Largest |V| this source may output, V (at most the "
                                      "model's maximum, labctl.core.smu_limits)")
    compliance: float | None = Field(None, gt=0, description="Current compliance of this source, A (at most the "
                                     "model's maximum, labctl.core.smu_limits)")


class InstrumentConfig(_Strict):
    """One instrument: which driver, where it answers, and its own limits."""

    driver: Driver = Field(description="Driver name")
    resource: str = Field(min_length=1, description="VISA/serial resource string, or 'sim' on a simulated bench")
    timeout: float | None = Field(None, gt=0, le=120, description=(
        "I/O timeout, s; None: 2 s on a real instrument, sim.timeout on a simulated one (resource 'sim')"))
    retries: int = Field(2, ge=0, le=10, description="Retries of queries that are safe to repeat")
    limits: InstrumentLimits = Field(default_factory=lambda: InstrumentLimits.model_validate({}))
    card: str | None = Field(None, description="Switch matrix: card type in every used slot (default: the "
                                               "model's matrix card, B2211A / 7174A)")
    cards: int = Field(1, ge=1, le=99, description="Switch matrix: cards fitted (slots 1..cards)")
    outputs_per_card: int = Field(0, ge=0, le=99, description="Switch matrix: DUT-side outputs per card (default: "
                                                              "the card type's)")
    inputs: int = Field(0, ge=0, le=99, description="Switch matrix: instrument-side inputs wired (default: all)")
    baud: int = Field(9600, description="Serial baud rate (RS-232 instruments)")
    tsplink_node: int | None = Field(None, ge=1, le=64, description=(
        "TSP-Link node number of a TSP instrument (2600B, 707B) on one TSP-Link network with the others; a 2600B "
        "then routes the 707B mainframes itself during in-instrument write-verify (None: not linked)"))

    @model_validator(mode="before")
    @classmethod
    def _card_defaults(cls, data: Any) -> Any:
        """A matrix's outputs per card and inputs default to its card type's (see ``MATRIX_MODELS``)."""
        if not isinstance(data, dict) or data.get("driver") not in MATRIX_MODELS:
            return data
        model = MATRIX_MODELS[data["driver"]]
        card = model.card(data.get("card") if isinstance(data.get("card"), str) else None)
        if card is None:
            return data
        out = dict(data)
        if not out.get("outputs_per_card"):
            out["outputs_per_card"] = card.outputs
        if not out.get("inputs"):
            out["inputs"] = min(model.inputs, card.inputs)
        return out

    @property
    def is_matrix(self) -> bool:
        return self.driver in MATRIX_DRIVERS

    @property
    def is_generator(self) -> bool:
        return self.driver in GENERATOR_DRIVERS

    @property
    def outputs(self) -> int:
        """Switch matrix: DUT-side outputs of the mainframe (cards x outputs per card)."""
        return self.cards * self.outputs_per_card


class InputWiring(_Strict):
    """One matrix input: the SMU channel feeding it (none for ground) and its roles."""

    input: int = Field(ge=1, le=99, description="Matrix input (instrument side), 1-based; the same input of every "
                                                "mainframe of the crossbar")
    source: str | None = Field(None, description="Instrument name of the SMU feeding this input (None: ground)")
    channel: int = Field(1, ge=1, le=2, description="SMU channel, 1-based")
    roles: tuple[Role, ...] = Field(min_length=1, description="Roles of this input")


class LineBlock(_Strict):
    """Consecutive crossbar lines on consecutive matrix outputs: line i -> output ``first_output + i``."""

    first_output: int = Field(ge=1, le=9999, description="Matrix output of line 0 (1-based, card-major, then "
                                                          "mainframe-major)")


class CrossbarWiring(_Strict):
    """Where a crossbar lands on its switch matrix. ``matrix`` is one mainframe, or a list of mainframes whose
    outputs are numbered on, in list order (mainframe k's output o is ``o`` plus the outputs of the mainframes
    before it); every input feeds the same input number of every listed mainframe."""

    matrix: str | tuple[str, ...] = Field(description="Instrument name of the switch matrix, or a list of them")
    inputs: tuple[InputWiring, ...] = Field(min_length=1)
    rows: LineBlock
    cols: LineBlock

    @property
    def matrices(self) -> tuple[str, ...]:
        return (self.matrix,) if isinstance(self.matrix, str) else self.matrix


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


class WireResistance(_Strict):
    """Interconnect resistance of one simulated crossbar (IR drop); all 0 = ideal lines (the default)."""

    r_row: float = Field(0.0, ge=0, le=1e4, description="Row-line resistance per segment between neighbouring "
                                                        "cells, ohm (typ. 1-10 ohm for lab arrays)")
    r_col: float = Field(0.0, ge=0, le=1e4, description="Column-line resistance per segment between neighbouring "
                                                        "cells, ohm (typ. 1-10 ohm for lab arrays)")
    r_contact: float = Field(0.0, ge=0, le=1e5, description="Resistance from a line's pad (matrix output) to its "
                                                            "first cell, ohm (row i enters next to column 0, "
                                                            "column j next to the last row)")


class SimConfig(_Strict):
    """Physics preset, seed and non-idealities of a simulated bench."""

    preset: str = Field("stanford_v1", description="Physics preset name (sim_instruments.presets.PRESETS)")
    seed: int | None = Field(0, description="Random seed of the physics")
    params: dict[str, float | bool] = Field(
        default_factory=dict, description="Overrides of the preset's StanfordParams fields (SI units)"
    )
    nonideal: dict[str, float | bool | Literal["lrs", "hrs"] | None] = Field(
        default_factory=dict, description="Fields of sim_instruments.NonIdealities"
    )
    timing: SimTiming = Field(default_factory=lambda: SimTiming.model_validate({}))
    faults: dict[str, FaultConfig] = Field(default_factory=dict, description="Faults per instrument name")
    wires: dict[str, WireResistance] = Field(
        default_factory=dict, description="Wire resistance per crossbar name, ohm (crossbars not listed: ideal lines)"
    )
    timeout: float = Field(30.0, gt=0, le=600, description=(
        "I/O timeout of every simulated instrument (resource 'sim') that sets no timeout of its own, s: the "
        "simulators share the controller's CPUs, so a loaded machine delays a reply by seconds no real instrument "
        "takes; a dead or silent simulator still ends in a TransportError, after this long"))


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
            if inst.driver in MATRIX_MODELS:
                errors += MATRIX_MODELS[inst.driver].check(f"instruments.{name}", inst.card, inst.cards,
                                                           inst.outputs_per_card, inst.inputs)
            if inst.resource == "sim" and self.sim is None:
                errors.append(f"instruments.{name}.resource = 'sim' needs a 'sim' section")
            lim = inst.limits
            if lim.max_voltage is not None and lim.max_voltage > self.limits.max_program_voltage:
                errors.append(f"instruments.{name}.limits.max_voltage = {lim.max_voltage:g} V is out of range; "
                              f"allowed (0, {self.limits.max_program_voltage:g}] V (limits.max_program_voltage)")
            if lim.compliance is not None and lim.compliance > self.limits.compliance:
                errors.append(f"instruments.{name}.limits.compliance = {lim.compliance:g} A is out of range; "
                              f"allowed (0, {self.limits.compliance:g}] A (limits.compliance)")
            if inst.is_generator:
                vmax = min(lim.max_voltage or self.limits.max_program_voltage, self.limits.max_program_voltage)
                cap = min(lim.compliance or self.limits.compliance, self.limits.compliance)
                if vmax / GENERATOR_R_OUT > cap:
                    errors.append(f"instruments.{name}: a {inst.driver} cannot limit its current; behind its "
                                  f"{GENERATOR_R_OUT:g} ohm output it can deliver {vmax / GENERATOR_R_OUT:g} A at "
                                  f"{vmax:g} V, above the compliance {cap:g} A; set instruments.{name}.limits."
                                  f"max_voltage <= {cap * GENERATOR_R_OUT:g} V")
        for xname, xb in self.crossbars.items():
            errors += _check_wiring(self, f"crossbars.{xname}", xb)
        errors += smu_limit_errors(self)
        if self.sim is not None:
            for fname in self.sim.faults:
                if fname not in self.instruments:
                    errors.append(f"sim.faults.{fname}: unknown instrument; allowed: {', '.join(self.instruments)}")
            for xname in self.sim.wires:
                if xname not in self.crossbars:
                    errors.append(f"sim.wires.{xname}: unknown crossbar; allowed: {', '.join(self.crossbars)}")
        if self.hil is not None and self.hil.test_area is not None:
            errors += _check_test_area(self, self.hil.test_area)
        if errors:  # one line per error; _format counts and lists them one by one
            raise ValueError("\n".join(errors))
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
    mats = [cfg.instruments.get(m) for m in w.matrices]
    if not w.matrices or any(m is None or not m.is_matrix for m in mats):
        return [f"{path}.wiring.matrix = {w.matrix!r} is invalid; allowed: a switch-matrix instrument or a list of "
                f"them ({', '.join(n for n, i in cfg.instruments.items() if i.is_matrix) or 'none defined'})"]
    if any(m is not None and not m.outputs_per_card for m in mats):
        return []  # a mainframe with an unknown card: reported at the instrument
    if len(set(w.matrices)) != len(w.matrices):
        errors.append(f"{path}.wiring.matrix = {list(w.matrices)} names a mainframe twice")
    frames = [m for m in mats if m is not None]
    n_out = sum(m.outputs for m in frames)
    where = (f"{n_out} matrix outputs" if len(frames) == 1
             else f"{n_out} outputs of {len(frames)} mainframes: " + " + ".join(str(m.outputs) for m in frames))
    for label, block, n in (("rows", w.rows, xb.rows), ("cols", w.cols, xb.cols)):
        last = block.first_output + n - 1
        if last > n_out:
            errors.append(f"{path}.wiring.{label}.first_output = {block.first_output} is out of range; allowed "
                          f"[1, {max(n_out - n + 1, 0)}] ({n} lines on {where})")
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
        for mname, mat in zip(w.matrices, frames, strict=True):
            if inp.input > mat.inputs:
                model = MATRIX_MODELS[mat.driver]
                errors.append(f"{p}.input = {inp.input} is out of range: {mname} is a {model.describe()} "
                              f"with {mat.inputs} inputs; allowed [1, {mat.inputs}]")
                break
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
        elif inp.channel > SMU_CHANNELS.get(src.driver, 1):
            errors.append(f"{p}.channel = {inp.channel} is out of range for {src.driver}")
        elif src.is_generator != bool({Role.PULSE, Role.PULSE_BIAS} & set(inp.roles)):
            errors.append(f"{p}.roles = {[str(r) for r in inp.roles]} is invalid for {src.driver}; allowed: "
                          + ("'pulse' or 'pulse_bias' (a generator cannot read)" if src.is_generator
                             else "roles other than 'pulse'/'pulse_bias' (those need a function generator)"))
    for need in (Role.DRIVE, Role.SENSE, Role.GROUND):
        if need not in roles:
            errors.append(f"{path}.wiring.inputs: no input has role {need.value!r} (needed for pulses and reads)")
    if not roles & {Role.BIAS, Role.BIAS_ROW}:
        errors.append(f"{path}.wiring.inputs: no input has role 'bias' or 'bias_row' (needed for V/2 pulses)")
    return errors


def _format(exc: ValidationError) -> list[str]:
    lines: list[str] = []
    for err in exc.errors():
        msg = err["msg"].removeprefix("Value error, ")
        if not err["loc"]:  # the cross-reference checks: each line names its own path
            lines += msg.splitlines()
            continue
        loc = ".".join(str(x) for x in err["loc"])
        ctx = err.get("ctx") or {}
        bounds = [f"{k.replace('_', ' ')} {v}" for k, v in ctx.items() if k in ("gt", "ge", "lt", "le")]
        allowed = f" (allowed: {', '.join(bounds)})" if bounds else ""
        got = f" got {err['input']!r}:" if err["type"] not in ("missing",) and not isinstance(err["input"], dict) \
            else ""
        lines.append(f"{loc}:{got} {msg}{allowed}")
    return lines


def bench_config_errors(data: Any) -> tuple[BenchConfig | None, list[str]]:
    """The validated config (None when invalid) and every error, one line each with its path."""
    if not isinstance(data, dict):
        return None, [f"(file) = {type(data).__name__} is invalid; allowed: a YAML mapping"]
    try:
        return BenchConfig.model_validate(data), []
    except ValidationError as exc:
        return None, _format(exc)


def parse_bench_config(data: Any, *, source: str = "<config>") -> BenchConfig:
    """Validate a mapping; raise ``ConfigError`` listing every error with its path and allowed range."""
    cfg, errors = bench_config_errors(data)
    if cfg is None:
        raise ConfigError(f"{source}: {len(errors)} error(s)\n" + "\n".join(errors))
    return cfg


def read_bench_yaml(path: str | Path) -> Any:
    """The parsed YAML of a bench file; ``ConfigError`` naming the file (and line:column of a syntax error)."""
    import yaml

    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ConfigError.invalid("path", str(p), f"a readable bench YAML file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError.invalid("path", str(p), "a UTF-8 text (YAML) file") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{p}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(p)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context = getattr(exc, "context", None)
        raise ConfigError(f"{where}: not valid YAML: {problem}" + (f" ({context})" if context else "")) from None


def load_bench_config(path: str | Path) -> BenchConfig:
    """Load and validate a bench YAML file."""
    return parse_bench_config(read_bench_yaml(path), source=str(path))
