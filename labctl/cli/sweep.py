"""``labctl sweep SPEC.yaml --out DIR [--address ADDR] [--workers N]``, ``--resume DIR``, ``--schema``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from labctl.core.errors import ConfigError


def _line(kind: str, chip: str, data: dict[str, Any]) -> str | None:
    if kind == "failed":
        return f"[red]FAILED[/] {chip}: {data.get('error', '')}"
    if kind != "done":
        return None
    m = data.get("metrics", {})
    parts = [f"[green]done[/] {chip}", f"attempt {data.get('attempt', 1)}"]
    if "yield" in m:
        parts.append(f"yield {100 * m['yield']:.1f} %")
    if "pulses_per_cell" in m:
        parts.append(f"{m['pulses_per_cell']:.1f} pulses/cell")
    if m.get("accuracy_after") is not None:
        parts.append(f"accuracy {100 * (m.get('accuracy_before') or 0):.1f} -> {100 * m['accuracy_after']:.1f} %")
    parts.append(f"{data.get('wall_s', 0):.1f} s")
    return ", ".join(parts)


@click.command(name="sweep")
@click.argument("spec", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Sweep folder (new).")
@click.option("--resume", type=click.Path(file_okay=False, path_type=Path), default=None, metavar="DIR",
              help="Continue the sweep in DIR (chips already recorded are not run again).")
@click.option("--address", default=None, help="Ray cluster address (default: a local Ray on this machine).")
@click.option("--workers", type=click.IntRange(1, 100_000), default=None,
              help="Chips in flight at once (default: the CPUs of this machine / of the cluster).")
@click.option("--schema", "show_schema", is_flag=True, help="Print the JSON schema of the sweep spec and exit.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def command(spec: Path | None, out: Path | None, resume: Path | None, address: str | None, workers: int | None,
            show_schema: bool, quiet: bool) -> None:
    """Run a Monte-Carlo sweep over simulated chips on Ray: every chip (seeds x variants of the sim section)
    runs the job on its own simulated bench; results go to DIR/runs (the sweep record sweep-NAME references each
    chip's runs) and the sweep report to DIR/report.html (+ report.json)."""
    from labctl.jobs import sweep as sw

    if show_schema:
        click.echo(json.dumps(sw.schema(), indent=2))
        return
    if resume is not None:
        if spec is not None or out is not None:
            raise ConfigError.invalid("--resume", str(resume), "alone (no SPEC and no --out: the folder holds both)")
        folder = resume
    else:
        if spec is None or out is None:
            raise ConfigError.invalid("SPEC/--out", f"{spec}/{out}", "a sweep YAML and an output folder")
        parsed, root = sw.load_spec(spec)
        sw.write_plan(out, parsed, sw.expand(parsed, root))
        folder = out
    _, chips = sw.read_plan(folder)

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    bar = Progress(TextColumn("[bold]chips"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TextColumn("{task.fields[msg]}"), console=console, disable=quiet)
    task = bar.add_task("chips", total=len(chips), msg="")
    status: dict[str, str] = {}

    def on_event(kind: str, chip: str, data: dict[str, Any]) -> None:
        status[chip] = kind
        running = sum(1 for s in status.values() if s == "start")
        bar.update(task, completed=sum(1 for s in status.values() if s in ("done", "failed")),
                   msg=f"{running} running")
        line = _line(kind, chip, data)
        if line and not quiet:
            console.print(line)

    try:
        with bar:
            res = sw.run_sweep(folder, address=address, workers=workers, on_event=on_event)
    except KeyboardInterrupt:
        click.echo(f"interrupted; continue with: labctl sweep --resume {folder}", err=True)
        raise click.exceptions.Exit(130) from None
    html, js = sw.write_sweep_report(folder)
    click.echo(json.dumps({"sweep": res.record, "store": str(Path(folder) / sw.RUNS_DIR), "chips": res.total,
                           "completed_now": len(res.completed), "already_done": res.skipped,
                           "failed": res.failed, "wall_s": round(res.wall_s, 2), "report": str(html),
                           "report_json": str(js)}))
    if res.failed:
        raise click.exceptions.Exit(1)
