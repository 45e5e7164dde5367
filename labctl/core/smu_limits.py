"""Physical limits of the SMU models a bench may name, as data (from each model's datasheet / reference manual),
and the bench-config check that refuses what the hardware cannot do, naming the model and the limit.

The drivers (``instruments``) declare their model's entry as ``hardware``; the table lives here because the config
layer (``labctl.core``) may not import the drivers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from labctl.core.config import BenchConfig


@dataclass(frozen=True)
class SmuModelLimits:
    """What one SMU model can physically do."""

    model: str
    channels: int
    max_voltage: float
    """Largest |V| the source outputs, V."""
    max_current: float
    """Largest |I| (DC compliance / source), A."""
    envelope: tuple[tuple[float, float], ...]
    """DC power envelope: (up to |V|, at most |I|) steps, V and A."""
    voltage_ranges: tuple[float, ...]
    current_ranges: tuple[float, ...]
    """Current measure ranges, A."""
    min_pulse_width: float | None
    """Shortest programmable pulse, s (None: no pulse mode; a pulse is a timed DC hold)."""
    max_pulse_width: float | None
    min_aperture: float
    """Shortest integration time of one reading, s (at 50 Hz for the NPLC-based models)."""

    def max_current_at(self, volts: float) -> float:
        """The largest |I| the model sources at |V| = ``volts`` (DC envelope)."""
        return next((i for v, i in self.envelope if abs(volts) <= v), 0.0)


SMU_LIMITS: dict[str, SmuModelLimits] = {
    # Model 2450 reference manual / datasheet: 20 mV ... 200 V ranges (210 V max), 10 nA ... 1 A ranges (1.05 A);
    # 1.05 A up to 21 V, 105 mA up to 210 V; NPLC 0.01 ... 10.
    "keithley_2450": SmuModelLimits(
        model="Keithley 2450", channels=1, max_voltage=210.0, max_current=1.05,
        envelope=((21.0, 1.05), (210.0, 0.105)), voltage_ranges=(0.02, 0.2, 2.0, 20.0, 200.0),
        current_ranges=(1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0), min_pulse_width=None,
        max_pulse_width=None, min_aperture=0.01 / 60.0),
    # Series 2400 user's manual: 200 mV ... 200 V (210 V), 1 uA ... 1 A (1.05 A); 1.05 A up to 21 V, 105 mA up to
    # 210 V; NPLC 0.01 ... 10.
    "keithley_2400": SmuModelLimits(
        model="Keithley 2400", channels=1, max_voltage=210.0, max_current=1.05,
        envelope=((21.0, 1.05), (210.0, 0.105)), voltage_ranges=(0.2, 2.0, 20.0, 200.0),
        current_ranges=(1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0), min_pulse_width=None, max_pulse_width=None,
        min_aperture=0.01 / 60.0),
    # B2900 series user's guide / SCPI reference: 0.2 ... 200 V ranges (210 V), DC 3.03 A up to 6 V, 1.515 A up to
    # 21 V, 105 mA up to 210 V; measure ranges 100 nA ... 3 A (10 nA only on the B2911A/B2912A); pulse width
    # 50 us ... 99999.9 s; aperture 8 us ... 2 s.
    "keysight_b2902": SmuModelLimits(
        model="Keysight B2902A", channels=2, max_voltage=210.0, max_current=3.03,
        envelope=((6.0, 3.03), (21.0, 1.515), (210.0, 0.105)), voltage_ranges=(0.2, 2.0, 20.0, 200.0),
        current_ranges=(1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0, 1.5, 3.0), min_pulse_width=5e-5,
        max_pulse_width=99999.9, min_aperture=8e-6),
    # Series 2600B datasheet (2636B): 200 mV ... 200 V ranges, 100 pA ... 1.5 A ranges; DC 1.5 A up to
    # 20 V, 100 mA up to 200 V; NPLC 0.001 ... 25. labctl's pulses on it are script-timed DC holds (the write-verify
    # script sets the level, waits with delay(), measures), not trigger-model pulses, so no pulse-mode minimum.
    "keithley_2600b": SmuModelLimits(
        model="Keithley 2636B", channels=2, max_voltage=200.0, max_current=1.5,
        envelope=((20.0, 1.5), (200.0, 0.1)), voltage_ranges=(0.2, 2.0, 20.0, 200.0),
        current_ranges=(1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0, 1.5),
        min_pulse_width=None, max_pulse_width=None, min_aperture=0.001 / 60.0),
}


def smu_limit_errors(cfg: BenchConfig) -> list[str]:
    """Every way the bench asks an SMU for more than its model can do (empty: the bench could be built)."""
    from labctl.core.config import Role

    errors: list[str] = []
    b = cfg.limits
    pulsed: set[str] = set()
    for xname, xb in cfg.crossbars.items():
        for k, inp in enumerate(xb.wiring.inputs):
            hw = SMU_LIMITS.get(cfg.instruments[inp.source].driver) if inp.source in cfg.instruments else None
            if hw is None:
                continue
            if inp.channel > hw.channels:
                errors.append(f"crossbars.{xname}.wiring.inputs[{k}].channel = {inp.channel}: the {hw.model} has "
                              f"{hw.channels} channel{'s' if hw.channels > 1 else ''}")
            has_generator = any(Role.PULSE in w.roles for w in xb.wiring.inputs)  # it makes the short pulses
            if Role.DRIVE in inp.roles and inp.source is not None and not has_generator:
                pulsed.add(inp.source)
    for name, inst in cfg.instruments.items():
        hw = SMU_LIMITS.get(inst.driver)
        if hw is None:
            continue
        lim = inst.limits
        volts = b.max_program_voltage if lim.max_voltage is None else lim.max_voltage
        if lim.max_voltage is not None and lim.max_voltage > hw.max_voltage:
            errors.append(f"instruments.{name}.limits.max_voltage = {lim.max_voltage:g} V exceeds the {hw.model}'s "
                          f"source maximum; allowed (0, {hw.max_voltage:g}] V")
        amps = b.compliance if lim.compliance is None else lim.compliance
        field = "limits.compliance" if lim.compliance is None else f"instruments.{name}.limits.compliance"
        if amps > hw.max_current:
            errors.append(f"{field} = {amps:g} A exceeds the {hw.model}'s current maximum; allowed "
                          f"(0, {hw.max_current:g}] A ({name})")
        elif amps > hw.max_current_at(min(volts, hw.max_voltage)):
            errors.append(f"{field} = {amps:g} A at {volts:g} V is outside the {hw.model}'s DC output envelope; "
                          f"allowed at most {hw.max_current_at(volts):g} A at {volts:g} V ({name})")
        if name in pulsed and hw.min_pulse_width is not None and b.min_pulse_width < hw.min_pulse_width:
            errors.append(f"limits.min_pulse_width = {b.min_pulse_width:g} s is shorter than the {hw.model}'s "
                          f"shortest pulse; allowed >= {hw.min_pulse_width:g} s ({name} drives pulses)")
        if name in pulsed and hw.max_pulse_width is not None and b.max_pulse_width > hw.max_pulse_width:
            errors.append(f"limits.max_pulse_width = {b.max_pulse_width:g} s is longer than the {hw.model}'s "
                          f"longest pulse; allowed <= {hw.max_pulse_width:g} s ({name} drives pulses)")
    return errors
