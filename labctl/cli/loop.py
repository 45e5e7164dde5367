"""``labctl loop [--bench CONFIG] [--out DIR] [--stuck F | --stuck-on F --stuck-off F]``: the main job."""

from __future__ import annotations

import asyncio
from typing import Any

import click


class _RichProgress:
    """Draws the loop's stages as rich progress bars (one line per stage)."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar
        self.task: Any = None

    def stage(self, name: str, total: int | None = None) -> None:
        if self.task is not None:
            t = self.bar.tasks[self.task]
            self.bar.update(self.task, completed=t.total if t.total is not None else t.completed)
        self.task = self.bar.add_task(name, total=total)

    def update(self, done: int, total: int) -> None:
        if self.task is not None:
            self.bar.update(self.task, completed=done, total=total)

    def note(self, text: str) -> None:
        self.bar.console.print(text)


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f} %"


def _wires(sets: tuple[str, ...]) -> dict[str, tuple[float, float, float]] | None:
    """``XBAR=R_ROW,R_COL,R_CONTACT`` entries -> {crossbar: (r_row, r_col, r_contact)}; a bad one is refused."""
    from labctl.core.errors import ConfigError

    if not sets:
        return None
    out = {}
    for item in sets:
        name, _, values = item.partition("=")
        try:
            r = tuple(float(v) for v in values.split(","))
        except ValueError:
            r = ()
        if not name or len(r) != 3 or not all(0 <= v <= 1e6 for v in r):
            raise ConfigError.invalid("--wires", item, "XBAR=R_ROW,R_COL,R_CONTACT with three resistances in "
                                      "[0, 1e6] ohm")
        out[name] = (r[0], r[1], r[2])
    return out


def _repeats(text: str | None) -> tuple[int, ...] | None:
    """``K1,K2`` -> (k1, k2); a bad one is refused naming the option."""
    from labctl.core.errors import ConfigError

    if text is None:
        return None
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise ConfigError.invalid("--repeats", text, "comma-separated integers 1..8, one per layer") from None


@click.command(name="loop")
@click.option("--bench", default=None,
              help="Bench YAML (default: the embedded realistic simulated bench, configs/sim_bench_realistic.yaml; "
                   "configs/sim_bench.yaml has ideal lines and no stuck cells).")
@click.option("--out", default="results/loop", show_default=True, help="Output folder (runs, model, report).")
@click.option("--stuck", type=float, default=None, metavar="F",
              help="Simulated chip: fraction F of cells stuck ON and F stuck OFF (e.g. 0.02), instead of the "
                   "bench's own fractions.")
@click.option("--stuck-on", type=float, default=0.0, show_default=True, help="Fraction of cells stuck ON (sim).")
@click.option("--stuck-off", type=float, default=0.0, show_default=True, help="Fraction of cells stuck OFF (sim).")
@click.option("--sim", "sim_sets", multiple=True, metavar="KEY=VALUE",
              help="Simulated physics override, e.g. nonideal.c2c=false or params.delta_g0=2e-6 (repeatable).")
@click.option("--seed", type=int, default=0, show_default=True, help="Training seed.")
@click.option("--n-test", type=int, default=160, show_default=True, help="Test images run on the bench.")
@click.option("--epochs", "retrain_epochs", type=int, default=300, show_default=True,
              help="Chip-in-the-loop retraining epochs.")
@click.option("--continuations", "retrain_continuations", type=click.IntRange(0, 20), default=3, show_default=True,
              help="Extra retraining runs of every pass from the trained weights with other seeds.")
@click.option("--passes", "retrain_passes", type=int, default=None,
              help="Retrain-reprogram-read passes (default: 3 on a simulated chip with wires, else 1).")
@click.option("--repeats", default=None, metavar="K1,K2",
              help="Rows each input of a layer drives (k cells per weight, summed on the column; default: 1 per "
                   "layer).")
@click.option("--no-periphery-fit", "no_periphery_fit", is_flag=True,
              help="Keep the amplifiers' bias currents and gains as trained (no refit to the chip as read).")
@click.option("--place", type=click.Choice(["auto", "fixed"]), default="auto", show_default=True,
              help="auto: scan the crossbars and place the layers around the faults; fixed: blocks at (0, 0).")
@click.option("--reuse-placement", is_flag=True,
              help="Program at the placement stored in --out (a resumed run) instead of scanning again.")
@click.option("--force", is_flag=True,
              help="Replace the results of an earlier loop in --out (without it such a folder is refused).")
@click.option("--wires", "wire_sets", multiple=True, metavar="XBAR=R_ROW,R_COL,R_CONTACT",
              help="Wire resistance (ohm) of a crossbar for the trainer's IR-drop model, e.g. from a calibration of "
                   "a real bench (default: the simulated bench's sim.wires; repeatable).")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def command(bench: str | None, out: str, stuck: float | None, stuck_on: float, stuck_off: float,
            sim_sets: tuple[str, ...], seed: int, n_test: int, retrain_epochs: int, retrain_continuations: int,
            retrain_passes: int | None, repeats: str | None, no_periphery_fit: bool,
            place: str, reuse_placement: bool, force: bool, wire_sets: tuple[str, ...], quiet: bool) -> None:
    """The full loop on a bench: train the letters network, program it into two crossbars, read the maps back,
    run inference under the read clamp, retrain around the measured chip, reprogram, and write the report."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from labctl.jobs.closed_loop import LoopOptions, run_loop

    if stuck is not None:
        stuck_on = stuck_off = stuck
    from labctl.cli.run import parse_sets

    opts = LoopOptions.parse(bench=bench, out=out, stuck_on=stuck_on, stuck_off=stuck_off, sim=parse_sets(sim_sets),
                             seed=seed, n_test=n_test, retrain_epochs=retrain_epochs,
                             retrain_passes=retrain_passes, retrain_continuations=retrain_continuations,
                             repeats=_repeats(repeats),
                             fit_periphery=not no_periphery_fit, place=place,
                             reuse_placement=reuse_placement, force=force, wires=_wires(wire_sets))
    console = Console()
    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=console, disable=quiet)
    with bar:
        res = asyncio.run(run_loop(opts, _RichProgress(bar)))
    rep = res.report
    table = Table(title="letters network on the bench (test images: single-pixel flips)")
    for col in ("stage", "software", "ideal crossbar", "measured crossbar", "drop"):
        table.add_column(col, justify="left" if col == "stage" else "right", no_wrap=col != "stage",
                         min_width=len(col) if col != "stage" else None)
    for a in rep.accuracy:
        table.add_row(a.stage, _pct(a.software), _pct(a.ideal_crossbar), _pct(a.measured_crossbar), _pct(a.drop))
    console.print(table)
    prog = Table(title="programming", padding=(0, 0))  # nine columns fit 80 without squeezing one away
    for col in ("layer", "stage", "cells", "converged", "failed", "stuck", "pulses/cell", "wall s", "bench s"):
        prog.add_column(col, justify="left" if col in ("layer", "stage") else "right", no_wrap=True,
                        min_width=len(col))
    for p in rep.programming:
        prog.add_row(p.layer, p.stage, str(p.cells), str(p.converged), str(p.failed), str(p.stuck),
                     f"{p.pulses_per_cell.get('mean', float('nan')):.1f}", f"{p.wall_seconds:.1f}",
                     f"{p.bench_seconds:.1f}")
    console.print(prog)
    console.print(f"total {rep.timing.get('total_wall_s', 0):.0f} s wall, "
                  f"{rep.timing.get('estimated_real_bench_s', 0):.0f} s estimated on real instruments")
    console.print(f"report: [bold]{res.html}[/bold] (JSON: {res.json}); loop run {res.run_id}")
