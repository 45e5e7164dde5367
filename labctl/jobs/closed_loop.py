"""The full loop, written out once: train -> program -> read -> infer -> sync -> retrain -> reprogram -> report.

:func:`run_loop` reads top to bottom like the data path of docs/architecture.md::

    train the letters network (labctl.train)           -> per-layer binary target maps (NPZ + JSON)
    open the bench (labctl.bench, simulated by default) -> snapshot
    program each layer on its crossbar (protocols.program via jobs.run_protocol, journalled)
    read the maps back under the read clamp (protocols.read_map)
    run the network on the bench (protocols.inference per layer, chained through the amplifier model)
    sync the measured maps into the trainer and retrain around them (chip in the loop)
    reprogram only the cells that must change, read and infer again
    the measured-vs-trained report (labctl.report: HTML + JSON twin, and a "loop" run in the store)

Every bench step is a stored protocol run (``<out>/runs``), so ``labctl report`` can rebuild the report.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from pydantic import Field, field_validator, model_validator

from labctl.analysis.placement import LayerPlacement, Placement
from labctl.core.errors import ConfigError
from labctl.core.records import CellStatus, Progress, ResultRecord
from labctl.jobs._layers import JobOptions, check_placement, outcome_codes, sim_variant
from labctl.jobs._placed import (
    PlaceMode,
    fixed_placement,
    infer_params,
    placement_summary,
    program_files,
    read_params,
    scan_and_place,
)
from labctl.jobs.protocol_run import run_protocol
from labctl.report import (
    REPORT_RESULT,
    AccuracyRow,
    LayerError,
    LayerMaps,
    ProgramPass,
    Report,
    Retraining,
    write_report,
)
from labctl.report._placement import fault_strings
from labctl.report._runs import now_iso, program_pass
from labctl.store import RunStore

#: the main job's default bench: the realistic simulated chip (wire resistance, 1 % + 1 % stuck cells; decision
#: 0067). The ideal-lined chip is configs/sim_bench.yaml
LOOP_BENCH = Path(__file__).resolve().parents[2] / "configs" / "sim_bench_realistic.yaml"


class LoopOptions(JobOptions):
    """Parameters of the full loop (everything needed to reproduce a run is stored with it)."""

    bench: str | None = Field(default=None, description=(
        "Bench YAML; None = the embedded realistic simulated bench (configs/sim_bench_realistic.yaml: wire "
        "resistance, 1 % + 1 % stuck cells)"))
    out: str = Field(default="results/loop", description="Output folder (runs, model, targets, report)")
    store: str | None = Field(default=None, description="Run store directory; None = <out>/runs")
    sizes: tuple[int, ...] = Field(default=(16, 32, 4), description="Letters network layer sizes")
    repeats: tuple[int, ...] | None = Field(default=None, description=(
        "Rows each input of a layer drives (one per layer, 1..8: k copies of every weight's cells, their currents "
        "summed on the column, the amplifier's feedback resistance divided by k); None = one row per input. "
        "Measured on the realistic chip, not better than one (docs/decisions/0065-input-repeats.md)"))
    recipe: str = Field(default="robust", description=(
        "labctl.train.letters recipe: robust (trained for noisier letters, labctl.train.letters_robust), "
        "improved or seed"))
    seed: int = Field(default=0, ge=0, description="Training seed")
    train: dict[str, float | int | bool] = Field(default_factory=dict, description=(
        "Overrides of the recipe's fields for the first training (e.g. restarts, epochs, hard_epochs); the "
        "recipe's own values otherwise"))
    g_off: float = Field(default=8e-6, gt=0, le=1e-3, description="Binary OFF target, S")
    g_on: float = Field(default=77e-6, gt=0, le=1e-3, description="Binary ON target, S (seed 001: 77 uS)")
    read_voltage: float = Field(default=0.1, gt=0, le=1, description="Verify/map read voltage, V")
    stuck_on: float = Field(default=0.0, ge=0, le=0.5, description="Simulated stuck-ON cell fraction")
    stuck_off: float = Field(default=0.0, ge=0, le=0.5, description="Simulated stuck-OFF cell fraction")
    sim: dict[str, float | bool] = Field(
        default_factory=dict, description="Simulated bench overrides: 'params.<field>' or 'nonideal.<field>'")
    n_test: int = Field(default=160, ge=1, le=640, description="Test images run on the bench (seed 001: 160)")
    retrain_epochs: int = Field(default=300, ge=0, le=5000, description="Chip-in-the-loop epochs")
    retrain_restarts: int = Field(default=3, ge=0, le=20,
                                  description="Extra retraining runs from fresh weights (best noisy-train loss kept)")
    retrain_continuations: int = Field(default=3, ge=0, le=20, description=(
        "Extra retraining runs of every pass from the trained weights with other seeds (best noisy-train loss kept)"))
    retrain_passes: int | None = Field(default=None, ge=1, le=5, description=(
        "Retrain-reprogram-read passes (each reprograms only for a lower selection loss and fewer noisy training "
        "letters wrong; a refused pass leaves the chip to the next, which retrains with another seed); None = 3 on a "
        "simulated chip with wires, 1 otherwise"))
    fit_periphery: bool = Field(default=True, description=(
        "Refit the amplifiers' bias currents and gains to the chip as read after the first programming and after "
        "the last pass that reprogrammed (labctl.train.periphery_fit: no cell is pulsed; a refit is kept only when "
        "it gets fewer noisy training letters wrong)"))
    read_repeats: int = Field(default=3, ge=1, le=100, description="Reads averaged per cell in a map read")
    program: dict[str, Any] = Field(
        default_factory=lambda: {"width": 1e-4, "width_max": 1e-3, "rel_tol": 0.1, "abs_tol": 1e-6},
        description="protocols.program parameters (seed 001: 100 us pulses)")
    placement: dict[str, tuple[str, int, int]] = Field(
        default_factory=lambda: {"fc1": ("xbar0", 0, 0), "fc2": ("xbar1", 0, 0)},
        description="layer -> (crossbar, row origin, column origin); used with place = fixed")
    place: PlaceMode = Field(default="auto", description=(
        "auto: scan every crossbar and place the layers around the faults (labctl.analysis.placement); "
        "fixed: each layer as one block at its 'placement' origin"))
    scan: dict[str, Any] = Field(
        default_factory=lambda: {"read_found": False, "restore": False},
        description=("protocols.scan parameters (place = auto). Without an 'order', a bench with wire resistance "
                     "is scanned SET then RESET (order = set_reset: every cell the layers do not use is left OFF, "
                     "so it draws no current from the lines in use), one with ideal lines RESET then SET"))
    risk_window: int | None = Field(default=None, ge=0, le=63, description=(
        "place = auto: a working cell counts as stuck-OFF by the fraction of stuck-OFF cells the scan found in this "
        "square around it (odd; 0 = the fault classes alone); None = 9 on lines with wire resistance, else 0"))
    reuse_placement: bool = Field(default=False, description=(
        "Take the placement stored in <out>/runs (a resumed run programs the same lines) instead of scanning"))
    wires: dict[str, tuple[float, float, float]] | None = Field(default=None, description=(
        "crossbar -> (r_row, r_col, r_contact), ohm, for the trainer's IR-drop model (e.g. from a calibration of a "
        "real bench); None = the simulated bench's sim.wires"))
    ir_model: bool | None = Field(default=None, description=(
        "Retrain on the chip's lines with wire resistance (labctl.train.wired) where the crossbars have wires and "
        "a scan says what every other cell reads; False: on the read maps with ideal lines (the cells as read "
        "already carry their lines' drops); None = only when 'wires' are given (a calibrated bench), else False "
        "(docs/decisions/0062-retrain-on-read-maps.md)"))
    transport: str = Field(default="visa", description="visa (loopback TCP, the real stack) or inproc (tests)")
    force: bool = Field(default=False, description="Replace the results of an earlier loop in the output folder")

    @model_validator(mode="after")
    def _train_fields(self) -> LoopOptions:
        from labctl.train.letters import IMPROVED_RECIPE, SEED_RECIPE
        from labctl.train.letters_robust import ROBUST_RECIPE

        base = {"robust": ROBUST_RECIPE, "improved": IMPROVED_RECIPE, "seed": SEED_RECIPE}.get(self.recipe, {})
        unknown = sorted(set(self.train) - set(base))
        if base and unknown:
            raise ValueError(f"train {', '.join(unknown)} is invalid; allowed: fields of the {self.recipe} recipe "
                             f"({', '.join(sorted(base))})")
        return self

    @field_validator("repeats")
    @classmethod
    def _repeats(cls, v: tuple[int, ...] | None) -> tuple[int, ...] | None:
        from labctl.train.crossbar import MAX_REPEATS

        if v is not None and not all(1 <= k <= MAX_REPEATS for k in v):
            raise ValueError(f"repeats {v} is invalid; allowed: one integer 1..{MAX_REPEATS} per layer")
        return v

    @field_validator("risk_window")
    @classmethod
    def _odd_window(cls, v: int | None) -> int | None:
        if v is not None and v > 0 and v % 2 == 0:
            raise ValueError(f"risk_window {v} is invalid; allowed: 0 or an odd number of cells up to 63")
        return v

    @field_validator("sim")
    @classmethod
    def _sim_keys(cls, v: dict[str, float | bool]) -> dict[str, float | bool]:
        for key in v:
            section, _, name = key.partition(".")
            if section not in ("params", "nonideal") or not name:
                raise ValueError(f"sim key {key!r} is invalid; allowed: params.<StanfordParams field> or "
                                 "nonideal.<NonIdealities field>")
        return v


#: what a loop writes into its output folder (``--force`` removes these and nothing else)
LOOP_OUTPUTS = ("runs", "model", "targets", "targets_retrained", *(f"targets_retrained_{k}" for k in range(2, 6)),
                "program", "report.html", "report.json", "report_files", "placement.json")


def _claim_out(out: Path, force: bool) -> None:
    """Refuse an output folder that holds an earlier loop's results (two runs never mix), unless ``force``:
    then those results are removed first."""
    import shutil

    earlier = [out / n for n in LOOP_OUTPUTS if (out / n).exists()]
    if earlier and not force:
        raise ConfigError.invalid("--out", str(out), "a new or empty folder (it holds an earlier loop's "
                                  f"{', '.join(e.name for e in earlier)}); add --force to replace those results, "
                                  "or give another --out")
    for e in earlier:
        if e.is_dir():
            shutil.rmtree(e)
        else:
            e.unlink()


class LoopProgress(Protocol):
    """What the loop tells a live display (the CLI draws it with rich)."""

    def stage(self, name: str, total: int | None = None) -> None: ...

    def update(self, done: int, total: int) -> None: ...

    def note(self, text: str) -> None: ...


class _Quiet:
    def stage(self, name: str, total: int | None = None) -> None: ...

    def update(self, done: int, total: int) -> None: ...

    def note(self, text: str) -> None: ...


@dataclass
class LoopResult:
    report: Report
    html: Path
    json: Path
    run_id: str


async def run_loop(opts: LoopOptions, progress: LoopProgress | None = None) -> LoopResult:
    """Run the full loop and write the report; see the module docstring for the path."""
    import torch

    from labctl.bench import load_config, open_bench
    from labctl.train import save_model
    from labctl.train.datasets import letters_test160, load_letters
    from labctl.train.letters import IMPROVED_RECIPE, SEED_RECIPE, train_letters
    from labctl.train.letters_retrain import binary_targets, gains_on_letters, retrain_letters
    from labctl.train.letters_robust import ROBUST_RECIPE
    from labctl.train.mapping import ConductanceWindow
    from labctl.train.measured import MeasuredMap
    from labctl.train.periphery_fit import fit_periphery
    from labctl.train.wired import WiredNet
    from sim_instruments.check import check_sim

    p = progress or _Quiet()
    # everything that can be checked before the first file is written: the bench, its physics, the recipe
    cfg = load_config(opts.bench or LOOP_BENCH)
    cfg = sim_variant(cfg, stuck_on=opts.stuck_on, stuck_off=opts.stuck_off, sim=opts.sim)
    check_sim(cfg, f"{opts.bench or LOOP_BENCH} with the loop's overrides")
    if opts.recipe not in ("robust", "improved", "seed"):
        raise ConfigError.invalid("recipe", opts.recipe, "robust, improved, seed")
    for xb in opts.wires or {}:
        if xb not in cfg.crossbars:
            raise ConfigError.invalid("wires", xb, ", ".join(cfg.crossbars))
    out = Path(opts.out)
    if not opts.reuse_placement:  # a resumed run keeps the stored runs and placement it continues from
        _claim_out(out, opts.force)
    store = RunStore(opts.store or out / "runs")
    t_start = time.monotonic()
    timing: dict[str, float] = {}
    torch.set_num_threads(1)

    # 1. train the letters network and export its per-layer binary targets
    p.stage("train letters network", 1)
    # float32-exact window ends: the trainer binarizes in float32 and TargetMap checks the window to 1e-9
    window = ConductanceWindow(float(np.float32(opts.g_off)), float(np.float32(opts.g_on)), opts.read_voltage)
    base = {"robust": ROBUST_RECIPE, "improved": IMPROVED_RECIPE, "seed": SEED_RECIPE}.get(opts.recipe)
    if base is None:
        raise ConfigError.invalid("recipe", opts.recipe, "robust, improved, seed")
    arrays = {name: (int(xb.rows), int(xb.cols)) for name, xb in cfg.crossbars.items()}
    repeats = input_repeats(opts, arrays)
    trained = train_letters(base | dict(opts.train) | {"sizes": opts.sizes, "repeats": repeats}, window=window,
                            seed=opts.seed)
    model = trained.model
    save_model(model, out / "model", {"dataset": "letters", "recipe": opts.recipe, **trained.summary()})
    targets = binary_targets(model)
    for tm in targets.values():
        tm.save(out / "targets")
    model_software = copy.deepcopy(model)  # the trained model, kept apart from the retraining below
    model_config = model.config()
    ds = load_letters()
    x_test, y_test = letters_test160(ds) if opts.n_test == 160 else _subset(ds.x_test, ds.y_test, opts.n_test)
    timing["train_s"] = time.monotonic() - t_start
    p.update(1, 1)

    # 2. the bench (simulated by default; stuck cells injected into the simulated chip on request)
    shapes = {n: (int(t.targets.shape[0]), int(t.targets.shape[1])) for n, t in targets.items()}
    opts = opts.model_copy(update={"program": program_params(opts, cfg, arrays), "repeats": repeats})  # as run
    on_targets = {n: t.targets > 0.5 * (opts.g_on + opts.g_off) for n, t in targets.items()}
    faults: dict[str, np.ndarray] | None = None
    if opts.place == "fixed":
        check_placement(opts.placement, dict(shapes), cfg.crossbars)
        placement = fixed_placement(opts.placement, shapes, arrays)
    runs: list[dict[str, Any]] = []
    async with open_bench(cfg, transport=opts.transport) as bench:
        snapshot = await bench.snapshot()
        steps = _BenchSteps(bench, store, opts, p, runs, float(cfg.limits.read_clamp), arrays)

        # 2b. the fault map of every crossbar and the layers placed around it (stored: a resume reuses it)
        scans: list[str] = []
        if opts.place == "auto":
            placement, faults, scans = await scan_and_place(
                steps.step, store, arrays, shapes, on_targets, scan_params(opts, cfg, arrays), out,
                reuse=opts.reuse_placement, seed=opts.seed, risk_window=risk_window(opts, cfg, arrays))
        steps.placement = placement

        # 3. program every layer to its targets, then read the maps back under the read clamp
        passes: list[ProgramPass] = []
        status: dict[str, np.ndarray] = {}
        for n, tm in targets.items():
            layer_passes = await steps.program(n, tm.targets, None, "initial")
            passes += layer_passes
            status[n] = steps.status_of(n, layer_passes)
        measured = {n: await steps.read(n, "initial") for n in targets}
        maps_before = {n: MeasuredMap(n, measured[n], outcome_codes(status[n]), opts.read_voltage,
                                      passes[0].run_id or "") for n in targets}

        # 4. the network on the bench (per layer, chained), next to the offline model
        ideal = {n: tm.targets for n, tm in targets.items()}
        before = await steps.infer_network(targets, ideal, measured, x_test, y_test, "before retraining")

        # 5. the amplifiers' bias currents and gains refit to the chip as first programmed (no cell changes): the
        # retraining then works from that periphery; 6. sync the measured maps into the trainer; retrain around the
        # chip (chip in the loop); 7. reprogram only the cells that must change and read again; with several passes,
        # retrain again on what it reads
        fits: dict[str, Any] = {}

        def refit(stage: str, maps_read: dict[str, np.ndarray]) -> dict[str, Any]:
            """Refit the periphery to ``maps_read``; the layers' targets carrying the periphery in use after it."""
            p.stage(f"fit the amplifiers' bias currents and gains to the chip as read ({stage})", 1)
            fit = fit_periphery(model, maps_read, ds, recipe=base, seed=opts.seed,
                                progress=lambda d, n: p.update(d, n))
            fits[stage] = fit.to_dict()
            p.note(f"amplifier bias currents and gains {'refit' if fit.applied else 'kept'} ({stage}): noisy "
                   f"training letters wrong {fit.errors_before} -> {fit.errors_after}; offline on the maps as read "
                   f"{100 * fit.accuracy_before:.1f} % -> {100 * fit.accuracy_after:.1f} %")
            return {n: dataclasses.replace(tm, periphery=fit.peripheries[k])
                    for k, (n, tm) in enumerate(targets.items())}

        refitting = opts.fit_periphery and bool(getattr(model, "bias", False))
        targets_now = refit("after the first programming", measured) if refitting else targets
        n_passes = retrain_passes(opts, cfg, arrays)
        mid = 0.5 * (opts.g_on + opts.g_off)
        odds = reprogram_odds(ideal, maps_before, mid)
        outcomes = programming_outcomes(ideal, maps_before, mid)
        per_pass = 1 + opts.retrain_continuations  # retraining runs of every pass (the first adds the restarts)
        total_epochs = opts.retrain_epochs * (opts.retrain_restarts + per_pass * n_passes)
        p.stage("retrain around the measured maps (chip in the loop)", total_epochs)
        ir_model = opts.wires is not None if opts.ir_model is None else opts.ir_model
        lines = _lines_model(opts, cfg, store, scans, placement, measured, arrays) if ir_model else None
        if lines is not None:
            p.note(f"retraining on the chip's lines with wire resistance ({', '.join(sorted(lines.wires))}; "
                   f"worst line coupling {lines.worst_coupling():.2f})")
        net = WiredNet.wrap(model, lines) if lines is not None else model
        maps_now, measured_now, status_now = maps_before, measured, dict(status)
        chip_now = dict(measured)  # the chip as the last retraining expects it once reprogrammed
        final = {n: tm.targets for n, tm in targets.items()}  # the network's binary targets after the last pass
        reprogrammed = {n: np.zeros(tm.targets.shape, dtype=bool) for n, tm in targets.items()}
        results: list[Any] = []  # every pass's retraining result
        applied: list[int] = []  # the passes that reprogrammed (a refused pass leaves the chip to the next one)
        for k in range(n_passes):
            restarts = opts.retrain_restarts if k == 0 else 0
            if k > 0 and lines is not None:  # the lines with the cells as they now read (else as before)
                net = WiredNet.wrap(model, _lines_model(opts, cfg, store, scans, placement, measured_now, arrays)
                                    or lines)
            done = opts.retrain_epochs * (opts.retrain_restarts + per_pass * k if k else 0)

            def tick(e: int, _n: int, _m: dict[str, float], d: int = done) -> None:
                p.update(d + e, total_epochs)

            loop = retrain_letters(net, maps_now, ds, epochs=opts.retrain_epochs, seed=opts.seed + k,
                                   restarts=restarts, continuations=opts.retrain_continuations,
                                   flip_p=float(base.get("flip_p", 0.0)), recipe=base,
                                   outcomes=outcomes, progress=tick)
            results.append(loop)
            if not gains_on_letters(loop.before["selection"], loop.before["errors"], loop.after["selection"],
                                    loop.after["errors"]):
                p.note(f"retraining pass {k + 1} predicts a selection loss of {loop.after['selection']:.3f} and "
                       f"{loop.after['errors']:.0f} noisy training letters wrong (on the chip as read: "
                       f"{loop.before['selection']:.3f}, {loop.before['errors']:.0f}): the chip is left as it is"
                       + ("; the next pass retrains it again with another seed" if k + 1 < n_passes else ""))
                continue
            applied.append(k)
            stage = "after retraining" if n_passes == 1 else f"after retraining (pass {k + 1})"
            for tm in loop.targets.values():  # (their periphery: the one in use, refit or trained)
                tm.save(out / ("targets_retrained" if k == 0 else f"targets_retrained_{k + 1}"))
            for n, tm in loop.targets.items():
                final[n] = tm.targets
                if tm.mask is not None and tm.mask.any():
                    layer_passes = await steps.program(n, tm.targets, tm.mask, stage)
                    passes += layer_passes
                    status_now[n] = np.where(tm.mask, steps.status_of(n, layer_passes), status_now[n])
                    reprogrammed[n] |= tm.mask
                chip_now[n] = np.where(tm.mask, tm.targets, measured_now[n]) if tm.mask is not None else tm.targets
            measured_now = {n: await steps.read(n, stage) for n in targets}
            maps_now = {n: MeasuredMap(n, measured_now[n], outcome_codes(status_now[n]), opts.read_voltage,
                                       passes[-1].run_id or "") for n in targets}
        # 8. the periphery refit again to the chip as the last pass left it
        targets_after = refit("after the last pass", measured_now) if refitting and applied else targets_now
        if fits:
            (out / "periphery_fit.json").write_text(json.dumps(fits, indent=1))
        after = await steps.infer_network(targets_after, chip_now, measured_now, x_test, y_test, "after retraining")
        bench_seconds = float(bench.estimated_bench_seconds())

    # 9. the report (HTML + JSON twin) and a "loop" run holding it
    p.stage("report", 1)
    software = _software_acc(model_software, x_test, y_test)
    acc = [
        AccuracyRow(stage="seed 001 (paper: 16-8-4, ADS simulation)", software=0.806, measured_crossbar=0.788,
                    n_test=160, reference=True),
        AccuracyRow(stage="before retraining", software=software, ideal_crossbar=before.ideal_acc,
                    measured_crossbar=before.bench_acc, offline_measured=before.offline_measured_acc,
                    n_test=len(y_test)),
        AccuracyRow(stage="after retraining", software=software, ideal_crossbar=after.ideal_acc,
                    measured_crossbar=after.bench_acc, offline_measured=after.offline_measured_acc,
                    n_test=len(y_test)),
    ]
    maps = []
    for n, tm in targets.items():
        lp = placement.layers[n]
        xb = "+".join(lp.crossbars())
        kw: dict[str, Any] = {"origin": (min(lp.segments[0].rows), min(lp.segments[0].cols)), "g_off": opts.g_off,
                              "g_on": opts.g_on}
        maps.append(LayerMaps.from_arrays(n, xb, "initial", tm.targets, measured[n], status[n], opts.read_voltage,
                                          **kw))
        maps.append(LayerMaps.from_arrays(n, xb, "after retraining", final[n], measured_now[n], status_now[n],
                                          opts.read_voltage, reprogrammed=reprogrammed[n], **kw))
    timing |= {f"{k}_wall_s": v for k, v in steps.wall.items()}
    timing |= {"total_wall_s": time.monotonic() - t_start, "estimated_real_bench_s": bench_seconds}
    report = Report(
        created=now_iso(),
        model={"network": "-".join(map(str, opts.sizes)), "kind": "soft-binarized, differential binary pairs",
               "recipe": opts.recipe, "dataset": "letters 4x4 (seed 000), single-pixel-flip test images",
               **model_config, "train_accuracy": trained.train_acc},
        accuracy=acc, maps=maps, programming=passes, layer_errors=before.errors + after.errors,
        retraining=Retraining(method="chip in the loop: stuck/failed cells frozen at what they read, binarized "
                              f"(STE) retraining of the rest; {opts.retrain_continuations} more runs from the trained "
                              f"weights and {opts.retrain_restarts} restarts from fresh weights, "
                              "lowest expected loss on noisy training letters kept"
                              + (f"; up to {n_passes} passes, each on the chip as read after the last"
                                 if n_passes > 1 else "")
                              + (f"; the layers on their placed lines with wire resistance ({_wires_text(lines)})"
                                 if lines is not None else ""), epochs=opts.retrain_epochs,
                              cells_to_program={n: int(m.sum()) for n, m in reprogrammed.items()},
                              cells_total={n: int(t.targets.size) for n, t in targets.items()},
                              fixed_cells=results[-1].fixed_cells,
                              predicted_accuracy=results[applied[-1] if applied else 0].after["measured"],
                              accuracy_on_measured_maps=results[0].before["measured"], applied=bool(applied),
                              passes=pass_rows(results, applied),
                              fail_odds=odds, periphery=fits or None),
        bench_snapshot=snapshot,
        parameters={"loop": opts.model_dump(mode="json"), "bench_config": cfg.model_dump(mode="json"),
                    "command": command_line(opts)},
        runs=runs, timing=timing,
    )
    report.notes = _notes(report, opts)
    report.placement = placement_summary(placement, faults, on_targets)
    report.fault_maps = {x: fault_strings(f) for x, f in (faults or {}).items()}
    info = store.create_run("loop", opts.model_dump(mode="json"), {"bench": snapshot},
                            crossbar="+".join(sorted({x for lp in placement.layers.values() for x in lp.crossbars()})))
    report.runs.append({"id": info.id, "protocol": "loop", "crossbar": info.crossbar, "stage": "report"})
    with store.journal(info.id) as j:
        j.emit(ResultRecord(REPORT_RESULT, {"json": report.to_json()}))
    store.set_status(info.id, "completed")
    html, js = write_report(report, out / "report.html")
    p.update(1, 1)
    return LoopResult(report, html, js, info.id)


def scan_params(opts: LoopOptions, cfg: Any, arrays: dict[str, tuple[int, int]]) -> dict[str, Any]:
    """The scan's parameters: the options', with ``order = set_reset`` (park the cells OFF) on a bench with wire
    resistance unless the options name an order; on a simulated chip with wires also its test pulses
    (:data:`~labctl.jobs._wired_settings.WIRED_SCAN`) where the options do not set them."""
    from labctl.jobs._wired_settings import WIRED_SCAN
    from labctl.jobs._wires import line_resistance

    if "order" in opts.scan or not line_resistance(cfg, opts.wires, list(arrays)):
        return dict(opts.scan)
    if line_resistance(cfg, None, list(arrays)):
        return WIRED_SCAN | dict(opts.scan)
    return dict(opts.scan) | {"order": "set_reset"}


def risk_window(opts: LoopOptions, cfg: Any, arrays: dict[str, tuple[int, int]]) -> int:
    """The placement's switching-risk window: :data:`~labctl.jobs._wired_settings.WIRED_RISK_WINDOW` on lines with
    wire resistance (the bench's ``sim.wires`` or ``--wires``), else 0 (the fault classes alone); the options'
    ``risk_window`` when given."""
    from labctl.jobs._wired_settings import WIRED_RISK_WINDOW
    from labctl.jobs._wires import line_resistance

    if opts.risk_window is not None:
        return opts.risk_window
    return WIRED_RISK_WINDOW if line_resistance(cfg, opts.wires, list(arrays)) else 0


def input_repeats(opts: LoopOptions, arrays: dict[str, tuple[int, int]]) -> tuple[int, ...]:
    """Rows per input of every layer (the options', else 1 per layer), checked against the layers and the largest
    array."""
    n_layers = len(opts.sizes) - 1
    reps = (1,) * n_layers if opts.repeats is None else tuple(opts.repeats)
    rows = max(r for r, _ in arrays.values())
    if len(reps) != n_layers or any(n * k > rows for n, k in zip(opts.sizes[:-1], reps, strict=True)):
        raise ConfigError.invalid("repeats", reps, f"{n_layers} integers, each layer's inputs x repeats <= {rows} "
                                  "rows (the largest array)")
    return reps


def retrain_passes(opts: LoopOptions, cfg: Any, arrays: dict[str, tuple[int, int]]) -> int:
    """Retraining passes: the options', else 3 on a simulated chip with wires (its write-verify leaves failed cells
    behind, so each further pass retrains around what the last reprogramming left), else 1."""
    from labctl.jobs._wires import line_resistance

    if opts.retrain_passes is not None:
        return opts.retrain_passes
    return 3 if line_resistance(cfg, None, list(arrays)) else 1


def pass_rows(results: list[Any], applied: list[int]) -> list[dict[str, Any]]:
    """The report's row of every retraining pass: its predictions on the chip as read and retrained, and whether it
    reprogrammed (``applied``: the indices of the passes that did; a refused pass may be followed by one that does)."""
    return [{"pass": k + 1, "on_chip_as_read": r.before["measured"], "predicted": r.after["measured"],
             "errors_as_read": r.before["errors"], "errors_predicted": r.after["errors"],
             "selection_as_read": r.before["selection"], "selection_predicted": r.after["selection"],
             "cells_to_program": r.cells_to_program, "applied": k in applied} for k, r in enumerate(results)]


def programming_outcomes(targets: dict[str, np.ndarray], maps: dict[str, Any], mid: float
                         ) -> tuple[np.ndarray, np.ndarray]:
    """What the chip's write-verify delivered in the first programming: (conductances read where the target was OFF,
    where it was ON), over the layers' cells that can be reprogrammed or failed (overshoots and misses included);
    stuck cells are left out: the retraining freezes them, so a cell it changes is never one of them."""
    on = np.concatenate([(targets[n] > mid).ravel() for n in maps])
    g = np.concatenate([np.asarray(maps[n].conductance, dtype=np.float64).ravel() for n in maps])
    ok = np.isfinite(g) & ~np.concatenate([maps[n].where(CellStatus.STUCK).ravel() for n in maps])
    return g[ok & ~on], g[ok & on]


def reprogram_odds(targets: dict[str, np.ndarray], maps: dict[str, Any], mid: float) -> tuple[float, float]:
    """(odds that programming a cell OFF failed, odds for ON) over the layers' first programming."""
    on = np.concatenate([(targets[n] > mid).ravel() for n in maps])
    bad = np.concatenate([(~maps[n].usable).ravel() for n in maps])
    return (float(bad[~on].mean()) if (~on).any() else 0.0, float(bad[on].mean()) if on.any() else 0.0)


def program_params(opts: LoopOptions, cfg: Any, arrays: dict[str, tuple[int, int]]) -> dict[str, Any]:
    """Write-verify parameters: the options'; on a simulated chip with wires (its ``sim.wires``) with
    :data:`~labctl.jobs._wired_settings.WIRED_PROGRAM` (V/3; :data:`~labctl.jobs._wired_settings.WIRED_PROGRAM_HALF`
    where a crossbar has no ``bias_col`` source of its own) for every key the options leave at the loop's default (a SET
    limited to each row's load plus a headroom, a wider tolerance)."""
    from labctl.bench import third_bias_wired
    from labctl.jobs._wired_settings import WIRED_PROGRAM, WIRED_PROGRAM_HALF
    from labctl.jobs._wires import line_resistance

    if not line_resistance(cfg, None, list(arrays)):
        return dict(opts.program)
    default = LoopOptions().program
    given = {k: v for k, v in opts.program.items() if k not in default or default[k] != v}  # not left at default
    third = all(third_bias_wired(x, cfg) for x in arrays)
    return default | (WIRED_PROGRAM if third else WIRED_PROGRAM_HALF) | given


def _lines_model(opts: LoopOptions, cfg: Any, store: RunStore, scans: list[str], placement: Placement,
                 measured: dict[str, np.ndarray], arrays: dict[str, tuple[int, int]]) -> Any:
    """The trainer's model of the chip's lines (:mod:`labctl.jobs._wires`), or None: ideal lines, or no scan
    saying what the cells the layers do not use read (``place = fixed``)."""
    from labctl.jobs._wires import chip_lines, line_resistance, scan_backgrounds

    wires = line_resistance(cfg, opts.wires, list(arrays))
    if not wires or opts.place != "auto":
        return None
    backgrounds = scan_backgrounds(store, scans, str(scan_params(opts, cfg, arrays).get("order", "reset_set")))
    lines = chip_lines(placement, measured, wires, backgrounds, arrays, opts.g_off)
    # the model's fixed point diverges when lines carry ~1/r of conductance (cells left ON by a reset_set scan
    # can): then the retraining keeps the ideal product rather than a diverging one
    return lines if lines is not None and lines.converges() else None


def _wires_text(lines: Any) -> str:
    return ", ".join(f"{x}: {w.r_row:g}/{w.r_col:g}/{w.r_contact:g} ohm row/col/contact"
                     for x, w in sorted(lines.wires.items()))


def _subset(x: np.ndarray, y: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded, stratified subset of ``n`` test images."""
    rng = np.random.default_rng(0)
    classes = np.unique(y)
    idx = np.concatenate([rng.permutation(np.flatnonzero(y == c))[: -(-n // len(classes))] for c in classes])
    idx = np.sort(rng.permutation(idx)[:n])
    return x[idx], y[idx]


def _software_acc(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    import torch

    model.eval()
    with torch.no_grad():
        return float((model(torch.as_tensor(x)).argmax(dim=1).numpy() == y).mean())


def command_line(opts: LoopOptions) -> str:
    """The command that reproduces this run."""
    cmd = ["labctl", "loop", "--out", opts.out]
    if opts.bench:
        cmd += ["--bench", opts.bench]
    if opts.stuck_on or opts.stuck_off:
        cmd += ["--stuck-on", f"{opts.stuck_on:g}", "--stuck-off", f"{opts.stuck_off:g}"]
    if opts.seed:
        cmd += ["--seed", str(opts.seed)]
    if opts.n_test != 160:
        cmd += ["--n-test", str(opts.n_test)]
    if opts.place != "auto":
        cmd += ["--place", opts.place]
    if opts.retrain_passes is not None:
        cmd += ["--passes", str(opts.retrain_passes)]
    if opts.retrain_continuations != LoopOptions.model_fields["retrain_continuations"].default:
        cmd += ["--continuations", str(opts.retrain_continuations)]
    if not opts.fit_periphery:
        cmd += ["--no-periphery-fit"]
    for k, v in opts.sim.items():
        cmd += ["--sim", f"{k}={v}"]
    return " ".join(cmd)


def _notes(r: Report, opts: LoopOptions) -> list[str]:
    b, a = r.accuracy_of("before retraining"), r.accuracy_of("after retraining")
    notes = []
    if b is not None and a is not None and b.measured_crossbar is not None and a.measured_crossbar is not None:
        notes.append(f"Measured crossbar accuracy {100 * b.measured_crossbar:.1f} % before and "
                     f"{100 * a.measured_crossbar:.1f} % after chip-in-the-loop retraining; software "
                     f"{100 * (b.software or 0):.1f} % (seed 001: software 80.6 %, crossbar 78.8 %, drop 1.8 %).")
    if opts.stuck_on or opts.stuck_off:
        notes.append(f"Simulated chip with {100 * opts.stuck_on:g} % stuck-ON and {100 * opts.stuck_off:g} % "
                     "stuck-OFF cells (a stuck-ON cell of STANFORD_V1 reads about 1.8 mS at 0.1 V).")
    notes.append("After retraining, 'ideal crossbar' is the chip the retraining expects: reprogrammed cells at "
                 "their new targets, every other cell as it read before retraining.")
    if opts.sim:
        notes.append("Simulated physics changed from the bench config: "
                     + ", ".join(f"{k} = {v}" for k, v in opts.sim.items()) + ".")
    notes.append(f"Binary targets: OFF {opts.g_off * 1e6:g} uS, ON {opts.g_on * 1e6:g} uS, verify tolerance "
                 f"{opts.program.get('rel_tol', 0.03):g} relative + {opts.program.get('abs_tol', 1e-6) * 1e6:g} uS.")
    return notes


# --- the bench steps ---------------------------------------------------------------------------------------------


@dataclass
class _Inference:
    bench_acc: float
    ideal_acc: float
    offline_measured_acc: float | None
    errors: list[LayerError]


class _BenchSteps:
    """Protocol runs on the open bench, each journalled in the store, with progress; layers at their placement."""

    def __init__(self, bench: Any, store: RunStore, opts: LoopOptions, p: LoopProgress, runs: list[dict[str, Any]],
                 read_clamp: float, arrays: dict[str, tuple[int, int]]) -> None:
        self.bench, self.store, self.opts, self.p, self.runs = bench, store, opts, p, runs
        self.read_clamp, self.arrays = read_clamp, arrays
        self.wall: dict[str, float] = {}
        self.placement: Placement | None = None

    def layer(self, name: str) -> LayerPlacement:
        assert self.placement is not None, "the layers are placed before anything is programmed"
        return self.placement.layers[name]

    async def step(self, protocol: str, params: dict[str, Any], crossbar: str, label: str, stage: str) -> Any:
        def tick(ev: Progress) -> None:
            self.p.update(ev.done, ev.total)

        self.p.stage(label)
        t0 = time.monotonic()
        res = await run_protocol(None, protocol, params, store_root=self.store.root, crossbar=crossbar,
                                 bench=self.bench, on_progress=tick)
        self.wall[protocol] = self.wall.get(protocol, 0.0) + time.monotonic() - t0
        self.runs.append({"id": res.run_id, "protocol": protocol, "crossbar": crossbar, "stage": stage})
        return res

    async def program(self, layer: str, targets: np.ndarray, mask: np.ndarray | None, stage: str
                      ) -> list[ProgramPass]:
        """Write-verify the layer's targets (only ``mask`` cells when given) at its placed lines, one run per
        crossbar it uses."""
        files = program_files(self.layer(layer), targets, mask, self.arrays, Path(self.opts.out) / "program", stage)
        out = []
        for xb, path in files.items():
            params = self.opts.program | {"targets": str(path), "origin": [0, 0],
                                          "read_voltage": self.opts.read_voltage}
            with np.load(path) as z:
                n = int(z["mask"].sum())
            t0, b0 = time.monotonic(), self.bench.now()
            res = await self.step("program", params, xb, f"program {layer} on {xb} ({stage}, {n} cells)", stage)
            out.append(program_pass(self.store, res.run_id, layer, stage, time.monotonic() - t0,
                                    self.bench.now() - b0))
        return out

    def status_of(self, layer: str, passes: list[ProgramPass]) -> np.ndarray:
        """Per-cell outcome strings of the layer's program runs, in the logical layout ('' = not programmed)."""
        maps = {xb: np.full(shape, "", dtype="<U9") for xb, shape in self.arrays.items()}
        for pp in passes:
            maps[pp.crossbar] = self.store.load_map(str(pp.run_id), name="program").status.astype("<U9")
        return self.layer(layer).gather(maps).astype(str)

    async def read(self, layer: str, stage: str) -> np.ndarray:
        """The layer's conductance map read under the clamp (repeats averaged), S, in the logical layout."""
        maps = {}
        for seg in self.layer(layer).segments:
            params = read_params(seg, self.opts.read_voltage, self.opts.read_repeats)
            res = await self.step("read_map", params, seg.crossbar, f"read map {layer} on {seg.crossbar} ({stage})",
                                  stage)
            maps[seg.crossbar] = self.store.load_map(res.run_id, name="read_map").conductance
        return self.layer(layer).gather(maps, np.float64)

    async def infer_network(self, targets: dict[str, Any], ideal: dict[str, np.ndarray],
                            measured: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray, stage: str) -> _Inference:
        """The test images through the crossbars layer by layer: row voltages (within the clamp) from the layer's
        input spec, measured column currents through the periphery model, outputs on to the next layer. Beside
        it, offline: the same forward on the ideal maps and on the measured maps."""
        from labctl.train import layer_forward, output_errors, outputs_from_currents
        from labctl.train.crossbar import row_voltages

        h_bench = np.asarray(x, dtype=np.float64)
        h_ideal, h_meas = h_bench.copy(), h_bench.copy()
        errors: list[LayerError] = []
        for name, tm in targets.items():
            per = tm.periphery
            v = row_voltages(h_bench, per.get("input", {}))
            scale = min(max(float(np.max(np.abs(v))), 1e-3), self.read_clamp)
            lp = self.layer(name)
            currents = np.empty((len(v), lp.n_out))
            for seg in lp.segments:
                params = infer_params(seg, np.clip(v / scale, -1.0, 1.0), scale)
                res = await self.step("inference", params, seg.crossbar,
                                      f"inference {name} on {seg.crossbar} ({stage}, {len(v)} images)", stage)
                got = dict(self.store.results(res.run_id))["inference"]["currents"]
                currents[:, list(seg.outputs)] = np.asarray(got, dtype=np.float64)
            h_bench = outputs_from_currents(currents, per)
            h_ideal = layer_forward(h_ideal, ideal[name], per)
            h_meas = layer_forward(h_meas, measured[name], per)
            for ref, off in (("offline ideal crossbar", h_ideal), ("offline on the measured maps", h_meas)):
                e = output_errors(off, h_bench)
                errors.append(LayerError(layer=name, stage=stage, reference=ref, n_outputs=e.n_outputs,
                                         n_vectors=len(v), max_error=e.max_error, mean_error=e.mean_error,
                                         std_error=e.std_error))

        def acc(logits: np.ndarray) -> float:
            return float((np.argmax(logits, axis=1) == y).mean())

        return _Inference(acc(h_bench), acc(h_ideal), acc(h_meas), errors)
