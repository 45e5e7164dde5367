"""``labctl sync RUN --model DIR``: a run's measured maps into a trained model, then chip-in-the-loop retraining.

The maps come from the run store (``--store``, default ``$LABCTL_STORE`` or ``./labctl-store``): the run's latest map of
each layer's crossbar, cut to the layer (placement from ``--layer LAYER=CROSSBAR[@ROW,COL]`` or the ``crossbar`` /
``origin`` keys of ``MODEL/targets/<layer>.json``; see :func:`labctl.train.export.measured_maps_from_run`).
``--maps DIR`` (``<layer>.npz`` with ``conductance``, ``status``, ``read_voltage``) is the alternative.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from labctl.cli.run import DEFAULT_STORE
from labctl.core.errors import ConfigError


@click.command("sync")
@click.argument("run")
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True)
@click.option("--store", "store", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=f"Run store directory (default $LABCTL_STORE or ./{DEFAULT_STORE}).")
@click.option("--layer", "layers", multiple=True, metavar="LAYER=CROSSBAR[@ROW,COL]",
              help="where a layer sits in the run's maps (repeatable); default from MODEL/targets/<layer>.json")
@click.option("--maps", "maps_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="instead of the store: a folder of measured <layer>.npz maps of RUN")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="default: MODEL/sync-RUN")
@click.option("--epochs", type=int, default=30, show_default=True)
@click.option("--tolerance", type=float, default=0.02, show_default=True, help="fraction of the window")
def command(run: str, model_dir: Path, store: Path | None, layers: tuple[str, ...], maps_dir: Path | None,
            out: Path | None, epochs: int, tolerance: float) -> None:
    """Evaluate with the measured maps, fit a noise model, retrain around the chip, write masked targets."""
    from labctl.train.export import measured_maps_from_run, parse_placement, sync_measured
    from labctl.train.measured import load_measured_maps

    if maps_dir is not None:
        if store is not None or layers:
            raise ConfigError.invalid("--maps", str(maps_dir), "either --maps or --store/--layer, not both")
        maps = load_measured_maps(maps_dir, run_id=run)
    else:
        root = store or Path(os.environ.get("LABCTL_STORE", DEFAULT_STORE))
        maps = measured_maps_from_run(root, run, model_dir, parse_placement(layers))
    report = sync_measured(model_dir, maps, out or model_dir / f"sync-{run}", epochs=epochs, tolerance=tolerance)
    click.echo(json.dumps(report, indent=1))
