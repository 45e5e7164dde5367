"""``labctl hil --bench FILE [--crossbar NAME] [--allow-program] [--out DIR]``: is this bench fit to use?"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

_MARK = {"pass": "PASS", "fail": "FAIL", "skip": "skip"}


@click.command(help="Hardware-in-the-loop checks of a bench: identities, limits, routing, safe state, a clamped map "
                    "read and (with --allow-program) write-verify of a test area. Non-destructive by default; "
                    "exit status 1 when a check fails.")
@click.option("--bench", "bench", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Bench YAML naming the instruments by their resource strings (no 'sim' section).")
@click.option("--crossbar", default=None, help="Crossbar to check (default: the first of the bench).")
@click.option("--allow-program", is_flag=True, help="Also write-verify the test area (hil.test_area) and read back.")
@click.option("--out", type=click.Path(file_okay=False), default="results/hil", show_default=True,
              help="Folder for hil.json, hil.html and the journaled runs.")
def command(bench: str, crossbar: str | None, allow_program: bool, out: str) -> None:
    from labctl.hil import CheckResult, run_hil, write_report

    def show(r: CheckResult) -> None:
        click.echo(f"[{_MARK[str(r.status)]}] {r.title}: {r.summary}")

    report = asyncio.run(run_hil(bench, crossbar=crossbar, allow_program=allow_program, out=Path(out),
                                 on_result=show))
    jpath, hpath = write_report(report, Path(out))
    click.echo(f"report: {hpath} (and {jpath.name})")
    if not report.ok:
        click.echo("bench check FAILED: fix the first failure above before using this bench", err=True)
        sys.exit(1)
    click.echo("bench check passed")
