"""The ``labctl`` command line.

Each subcommand lives in its own module ``labctl.cli.<name>`` exposing ``command`` (a click
command or group); modules are imported only when their command runs, so ``labctl --help``
stays fast and a missing optional piece does not break the others.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Any

import click

from labctl.core.errors import LabctlError

#: subcommand name -> (module, one-line help). Add a line here and a module; nothing else.
COMMANDS: dict[str, tuple[str, str]] = {
    "loop": ("labctl.cli.loop", "The full loop on a bench: train, program, read, infer, retrain, report."),
    "demo": ("labctl.cli.demo", "I-V sweep and pulse train on the simulated crossbar, with plots."),
    "config": ("labctl.cli.config", "Bench configuration: schema and checks."),
    "sim": ("labctl.cli.sim", "The simulated bench (instrument servers on loopback)."),
    "run": ("labctl.cli.run", "Run a programming protocol on a bench."),
    "protocols": ("labctl.cli.protocols", "List the protocols and their parameters (defaults, ranges, units)."),
    "runs": ("labctl.cli.runs", "List, show and export stored runs."),
    "train": ("labctl.cli.train", "Hardware-aware training recipes."),
    "sync": ("labctl.cli.sync", "Sync a run's measured maps into a trained model and retrain."),
    "report": ("labctl.cli.report", "Measured-vs-trained report of runs."),
    "serve": ("labctl.cli.serve", "The asyncio HTTP service next to the bench."),
    "jobs": ("labctl.cli.jobs", "Client commands for a running service."),
    "hil": ("labctl.cli.hil", "Hardware-in-the-loop checks: is this bench fit to use?"),
    "sweep": ("labctl.cli.sweep", "Monte-Carlo sweep over simulated chips on Ray (local or a cluster)."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, (mod, _) in COMMANDS.items() if importlib.util.find_spec(mod) is not None]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None or importlib.util.find_spec(entry[0]) is None:
            return None
        module = importlib.import_module(entry[0])
        command: click.Command = module.command
        if command.help is None and command.short_help is None:
            command.short_help = entry[1]
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(n, COMMANDS[n][1]) for n in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup)
@click.version_option(package_name="labctl")
def cli() -> None:
    """labctl: program RRAM crossbars, read them back, and train around what the chip does."""


def main(argv: list[str] | None = None) -> Any:
    """Entry point: labctl's own errors and bad files become a short message and exit status 2; anything else
    a one-line "internal error" (status 1) whose traceback ``LABCTL_DEBUG=1`` shows."""
    try:
        return cli.main(args=argv, prog_name="labctl", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except LabctlError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except OSError as exc:  # a file that cannot be read or written: name it
        where = f" {exc.filename!r}" if exc.filename else ""
        click.echo(f"error:{where} {exc.strerror or exc}", err=True)
        sys.exit(2)
    except Exception as exc:
        if os.environ.get("LABCTL_DEBUG"):
            raise
        click.echo(f"internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
                   "(a bug: please report it; LABCTL_DEBUG=1 shows the traceback)", err=True)
        sys.exit(1)
