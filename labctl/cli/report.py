"""``labctl report RUN... --out FILE [--store DIR]``: the measured-vs-trained report of stored runs."""

from __future__ import annotations

import os
from pathlib import Path

import click

from labctl.cli.run import DEFAULT_STORE


@click.command(name="report")
@click.argument("runs", nargs=-1, required=True)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="HTML file to write (the JSON twin goes beside it).")
@click.option("--store", default=None, type=click.Path(file_okay=False, path_type=Path),
              help=f"Run store directory (default $LABCTL_STORE or ./{DEFAULT_STORE}; a loop keeps its runs in "
                   "<out>/runs).")
def command(runs: tuple[str, ...], out: Path, store: Path | None) -> None:
    """Write the report (HTML + JSON) of the given runs: a loop run's full report, a sweep record's sweep report,
    or maps and programming statistics of program / read_map runs."""
    from labctl.report import SWEEP_PROTOCOL, report_from_runs, sweep_report_from_run, write_report
    from labctl.store import RunStore

    root = store or Path(os.environ.get("LABCTL_STORE", DEFAULT_STORE))
    st = RunStore(root)
    runs = tuple(st.resolve(r) for r in runs)
    if len(runs) == 1 and st.get_run(runs[0]).protocol == SWEEP_PROTOCOL:
        from labctl.report import write_sweep_report

        html, js = write_sweep_report(sweep_report_from_run(root, runs[0]), out)
        click.echo(f"sweep report: {html} (JSON: {js})")
        return
    html, js = write_report(report_from_runs(root, list(runs)), out)
    click.echo(f"report: {html} (JSON: {js})")
