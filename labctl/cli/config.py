"""``labctl config``: the bench YAML's JSON schema and a checker that reports every error."""

from __future__ import annotations

import json

import click


@click.group(help="Bench configuration: schema and checks.")
def command() -> None:
    pass


@command.command("schema", help="Print the JSON schema of a bench YAML.")
def schema() -> None:
    from labctl.core.config import BenchConfig

    click.echo(json.dumps(BenchConfig.model_json_schema(), indent=2))


@command.command("check", help="Validate a bench YAML; list every error with its path and allowed range.")
@click.argument("file", type=click.Path(dir_okay=False))
def check(file: str) -> None:
    from labctl.bench import load_config

    cfg = load_config(file)  # ConfigError listing every error -> "error: ..." and exit status 2 (labctl.cli.main)
    kind = "simulated" if cfg.simulated else "real"
    xbars = ", ".join(f"{n} {x.rows}x{x.cols}" for n, x in cfg.crossbars.items())
    click.echo(f"{file}: OK ({kind} bench {cfg.name!r}: {len(cfg.instruments)} instruments; crossbars {xbars})")
