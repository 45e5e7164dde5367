"""``labctl sim serve``: the simulated bench as instrument servers on loopback TCP."""

from __future__ import annotations

import sys
import time

import click


@click.group(help="The simulated bench (instrument servers on loopback).")
def command() -> None:
    pass


@command.command("serve", help="Serve the simulated instruments of a bench YAML and print their resource strings.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Bench YAML (default: the embedded simulated bench).")
@click.option("--duration", type=float, default=None, help="Stop after this many seconds (default: until Ctrl-C).")
@click.option("--spin", type=click.FloatRange(0.0, 0.1), default=None,
              help="Seconds a connection polls for the next message before it blocks (default 0.001; 0: off).")
@click.option("--port", "base_port", type=click.IntRange(1, 65535), default=None,
              help="Serve the instruments on fixed consecutive ports from this one, in the order of the bench YAML "
                   "(default: any free ports).")
@click.option("--control", is_flag=True,
              help="Print 'ready' after the resources, then take JSON control lines on stdin (faults, time); "
                   "stop when stdin ends.")
def serve(config_path: str | None, duration: float | None, spin: float | None, base_port: int | None,
          control: bool) -> None:
    from labctl.bench import DEFAULT_CONFIG, load_config
    from labctl.bench._sim import PROCESS_SPIN, serve_control, start_simulation

    cfg = load_config(config_path or DEFAULT_CONFIG)
    if not cfg.simulated:
        raise click.UsageError(f"{config_path}: not a simulated bench (no 'sim' section)")
    sim = start_simulation(cfg, spin=PROCESS_SPIN if spin is None else spin, base_port=base_port)
    try:
        for name, resource in sim.resources.items():
            click.echo(f"{name}\t{cfg.instruments[name].driver}\t{resource}")
        if control:
            click.echo("ready")
            serve_control(sim, sys.stdin, sys.stdout)
            return
        click.echo("serving; Ctrl-C to stop", err=True)
        end = None if duration is None else time.monotonic() + duration
        while end is None or time.monotonic() < end:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
