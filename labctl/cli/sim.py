"""``labctl sim serve``: the simulated bench as instrument servers on loopback TCP."""

from __future__ import annotations

import time

import click


@click.group(help="The simulated bench (instrument servers on loopback).")
def command() -> None:
    pass


@command.command("serve", help="Serve the simulated instruments of a bench YAML and print their resource strings.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Bench YAML (default: the embedded simulated bench).")
@click.option("--duration", type=float, default=None, help="Stop after this many seconds (default: until Ctrl-C).")
def serve(config_path: str | None, duration: float | None) -> None:
    from labctl.bench import DEFAULT_CONFIG, start_simulation
    from labctl.core.config import load_bench_config

    cfg = load_bench_config(config_path or DEFAULT_CONFIG)
    if not cfg.simulated:
        raise click.UsageError(f"{config_path}: not a simulated bench (no 'sim' section)")
    sim = start_simulation(cfg)
    try:
        for name, resource in sim.resources.items():
            click.echo(f"{name}\t{cfg.instruments[name].driver}\t{resource}")
        click.echo("serving; Ctrl-C to stop", err=True)
        end = None if duration is None else time.monotonic() + duration
        while end is None or time.monotonic() < end:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
