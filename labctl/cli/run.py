"""``labctl run PROTOCOL --bench CONFIG [--params FILE] [--set key=value ...] [--resume RUN] [--store DIR]``."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import click

from labctl.core.errors import ConfigError

DEFAULT_STORE = "labctl-store"


def parse_sets(items: tuple[str, ...]) -> dict[str, Any]:
    """``key=value`` pairs; values parsed as YAML scalars/lists (``4``, ``1e-5``, ``[8, 8]``, ``v/3``)."""
    import yaml

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError.invalid("--set", item, "key=value")
        out[key.strip()] = yaml.safe_load(value) if value.strip() else None
    return out


def load_params_file(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError.invalid("--params", str(path), f"a readable YAML/JSON mapping ({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError.invalid("--params", str(path), "a YAML/JSON mapping of parameter names to values")
    return data


class _RunCommand(click.Command):
    """``labctl run --help`` ends with the protocols (imported only when the help is shown)."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        import protocols as registry

        with formatter.section("Protocols (`labctl protocols NAME` lists the parameters)"):
            formatter.write_dl([(s.name, s.summary) for s in registry.REGISTRY.values()])


@click.command(name="run", cls=_RunCommand)
@click.argument("protocol", required=False)
@click.option("--bench", "bench", required=True, help="Bench configuration YAML (e.g. configs/sim_bench.yaml).")
@click.option("--params", "params_file", type=click.Path(dir_okay=False, path_type=Path), help="Parameters (YAML).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Set one parameter (repeatable).")
@click.option("--resume", default=None, metavar="RUN", help="Continue a stored run (skips verified cells).")
@click.option("--store", "store", default=None, type=click.Path(file_okay=False, path_type=Path),
              help=f"Run store directory (default $LABCTL_STORE or ./{DEFAULT_STORE}).")
@click.option("--crossbar", default="xbar0", show_default=True, help="Crossbar of the bench.")
@click.option("--run-id", default=None, help="Id of the new run (default: time-protocol-random).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def command(protocol: str | None, bench: str, params_file: Path | None, sets: tuple[str, ...], resume: str | None,
            store: Path | None, crossbar: str, run_id: str | None, quiet: bool) -> None:
    """Run a programming protocol on a bench, journaling every pulse and read."""
    import protocols as registry
    from labctl.jobs.protocol_run import run_protocol

    if protocol is None and resume is None:
        raise ConfigError.invalid("PROTOCOL", None, ", ".join(sorted(registry.REGISTRY)))
    if protocol is not None:
        registry.get(protocol)
    params: dict[str, Any] = load_params_file(params_file) if params_file else {}
    params.update(parse_sets(sets))
    store_root = store or Path(os.environ.get("LABCTL_STORE", DEFAULT_STORE))
    bench_cfg: Any = bench
    if not Path(bench).is_file():
        raise ConfigError.invalid("--bench", bench, "an existing bench YAML file")
    from labctl.bench import load_config

    bench_cfg = load_config(bench)  # every error of the file at once, before anything starts
    if protocol is not None and resume is None:
        registry.get(protocol).parse(params)  # a misspelt or out-of-range parameter, before the bench opens

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TextColumn("{task.fields[msg]}"), console=console, disable=quiet, transient=False)
    task = bar.add_task(protocol or "resume", total=None, msg="")
    started: list[str] = []

    def on_progress(p: Any) -> None:
        bar.update(task, completed=p.done, total=p.total or None, msg=p.message[-48:])

    def on_run(rid: str) -> None:
        started.append(rid)
        bar.update(task, description=rid)

    try:
        with bar:
            result = asyncio.run(run_protocol(
                bench_cfg, protocol, params, store_root=store_root, run_id=run_id, resume=resume,
                crossbar=crossbar, on_progress=on_progress, on_run=on_run,
            ))
    except KeyboardInterrupt:
        if started:
            click.echo(f"interrupted; resume with: labctl run --bench {bench} --resume {started[0]} "
                       f"--store {store_root}", err=True)
        raise click.exceptions.Exit(130) from None
    click.echo(json.dumps({"run": result.run_id, "status": result.status, "summary": result.summary}))
