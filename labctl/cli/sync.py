"""``labctl sync RUN --model DIR``: a run's measured maps into a trained model, then chip-in-the-loop retraining.

The maps are read from ``--maps DIR`` (``<layer>.npz`` with ``conductance``, ``status``, ``read_voltage``).
Locating them from the run id through ``labctl.store`` is not wired yet (the store had no map export when this
was written); pass ``--maps``.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from labctl.core.errors import ConfigError


@click.command("sync")
@click.argument("run")
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True)
@click.option("--maps", "maps_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="folder of measured <layer>.npz maps of RUN")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="default: MODEL/sync-RUN")
@click.option("--epochs", type=int, default=30, show_default=True)
@click.option("--tolerance", type=float, default=0.02, show_default=True, help="fraction of the window")
def command(run: str, model_dir: Path, maps_dir: Path | None, out: Path | None, epochs: int,
            tolerance: float) -> None:
    """Evaluate with the measured maps, fit a noise model, retrain around the chip, write masked targets."""
    if maps_dir is None:
        raise ConfigError.invalid("--maps", None, "a folder of measured maps (store lookup by run id not wired yet)")
    from labctl.train import load_measured_maps, sync_measured

    maps = load_measured_maps(maps_dir, run_id=run)
    report = sync_measured(model_dir, maps, out or model_dir / f"sync-{run}", epochs=epochs, tolerance=tolerance)
    click.echo(json.dumps(report, indent=1))
