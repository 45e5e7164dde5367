"""``labctl runs list | show RUN | export RUN``: the run store from the command line."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from labctl.cli._listing import print_listing
from labctl.cli.run import DEFAULT_STORE

if TYPE_CHECKING:
    from labctl.store import RunStore

_store_opt = click.option(
    "--store", "store", default=None, type=click.Path(file_okay=False, path_type=Path),
    help=f"Run store directory (default $LABCTL_STORE or ./{DEFAULT_STORE}).",
)


def _store(store: Path | None) -> RunStore:
    from labctl.store import RunStore

    return RunStore(store or Path(os.environ.get("LABCTL_STORE", DEFAULT_STORE)))


@click.group(name="runs")
def command() -> None:
    """List, show and export stored runs."""


@command.command(name="list")
@_store_opt
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_(store: Path | None, as_json: bool) -> None:
    """Every run in the store, oldest first."""
    st = _store(store)
    runs = st.list_runs()
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in runs], default=str))
        return
    if not runs:
        click.echo(f"no runs in {st.root}", err=True)
        for hint in _other_stores():
            click.echo(f"runs found in {hint}: `labctl runs list --store {hint}`", err=True)
        return
    rows = [(r.id, r.protocol, r.crossbar, r.status, f"{r.progress_done}/{r.progress_total}",
             time.strftime("%m-%d %H:%M", time.localtime(r.created))) for r in runs]
    print_listing(("run", "protocol", "crossbar", "status", "progress", "created"), rows, title=f"runs in {st.root}")


def _other_stores() -> list[str]:
    """Run stores a new user most likely means: the main job's (``results/loop/runs``) and others under
    ``./results``."""
    from labctl.store._schema import JOURNAL_FILE

    root = Path("results")
    if not root.is_dir():
        return []
    found = {j.parent.parent for j in root.glob(f"*/runs/*/{JOURNAL_FILE}")}
    found |= {j.parent.parent for j in root.glob(f"*/*/runs/*/{JOURNAL_FILE}")}
    return sorted(str(p) for p in found)


@command.command(name="show")
@click.argument("run")
@_store_opt
def show(run: str, store: Path | None) -> None:
    """A run's parameters, status, results and (for programming runs) statistics from the journal."""
    from labctl.analysis import max_read_volts, program_stats

    st = _store(store)
    run = st.resolve(run)
    info = st.get_run(run)
    out = info.to_dict()
    ev = st.event_arrays(run)
    out["events"] = {"pulses": int((ev["type"] == "pulse").sum()), "reads": int((ev["type"] == "read").sum())}
    out["max_read_volts"] = max_read_volts(ev, st.inferences(run))
    outcomes = st.outcomes(run)
    if outcomes:
        out["program"] = program_stats(ev, outcomes.values()).to_dict()
    out["results"] = {name: data for name, data in st.results(run) if name == "summary"}
    out["maps"] = [f"{xb}/{name}" for xb, name in st.map_names(run)]
    click.echo(json.dumps(out, indent=2, default=str))


@command.command(name="export")
@click.argument("run")
@_store_opt
@click.option("--format", "fmt", type=click.Choice(["hdf5", "csv", "npz"]), default="hdf5", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Output file (directory for csv).")
def export(run: str, store: Path | None, fmt: str, out: Path | None) -> None:
    """Export a run (hdf5: everything; csv: a directory; npz: the latest conductance map)."""
    st = _store(store)
    path = st.export(st.resolve(run), fmt, out)
    click.echo(str(path))
