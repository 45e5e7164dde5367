"""``labctl train RECIPE --dataset ... --out DIR``: hardware-aware training recipes (torch imported lazily).

Recipes: ``soft-binary`` (seed 001 letters network), ``soft-binary-improved`` (differential binary pairs),
``mlp`` (differential-pair crossbar MLP), ``mat`` (seed 002 noise injection, ``--noise``), ``hrat`` (seed 003),
``lut`` (seed 004, ``--pulse-csv``). ``--reproduce`` regenerates the README results table instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from labctl.core.errors import ConfigError

RECIPES = ("soft-binary", "soft-binary-improved", "mlp", "mat", "hrat", "lut")


def _progress(label: str) -> Any:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn(label), BarColumn(), TextColumn("{task.completed}/{task.total} {task.description}"),
                    TimeRemainingColumn())


@click.command("train")
@click.argument("recipe", type=click.Choice(RECIPES), required=False)
@click.option("--dataset", type=click.Choice(["letters", "digits", "breast-cancer"]), default=None)
@click.option("--out", "out", type=click.Path(path_type=Path), default=None, help="model directory to write")
@click.option("--epochs", type=int, default=None)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--hidden", type=int, default=64, show_default=True, help="hidden width (mlp, mat, lut)")
@click.option("--noise", type=float, default=0.2, show_default=True, help="mat: relative weight noise std")
@click.option("--g-off", type=float, default=None, help="conductance window low end (S)")
@click.option("--g-on", type=float, default=None, help="conductance window high end (S)")
@click.option("--pulse-csv", type=click.Path(exists=True, path_type=Path),
              default=None, help="lut: pulse-response CSV (default: the simulated bench's pulse trains)")
@click.option("--lut-mode", type=click.Choice(["numeric", "standard", "multi"]), default="standard")
@click.option("--reproduce", is_flag=True, help="regenerate the README results table (minutes)")
def command(recipe: str | None, dataset: str | None, out: Path | None, epochs: int | None, seed: int, hidden: int,
            noise: float, g_off: float | None, g_on: float | None, pulse_csv: Path | None, lut_mode: str,
            reproduce: bool) -> None:
    """Train a hardware-aware model and write it (model.json, model.pt, targets/) to --out."""
    if reproduce:
        from labctl.train.reproduce import run, table

        click.echo(table(run(out or Path("results/train"))))
        return
    if recipe is None or out is None:
        raise click.UsageError("RECIPE and --out are required (or use --reproduce)")
    import torch

    from labctl.train import export_targets, save_model
    from labctl.train.datasets import load_dataset
    from labctl.train.mapping import SEED_WINDOW, ConductanceWindow

    torch.manual_seed(seed)
    window = SEED_WINDOW if g_off is None and g_on is None else ConductanceWindow(
        g_off if g_off is not None else SEED_WINDOW.g_off, g_on if g_on is not None else SEED_WINDOW.g_on)
    ds_name = dataset or ("letters" if recipe.startswith("soft-binary") else
                          "breast-cancer" if recipe == "lut" else "digits")
    if recipe.startswith("soft-binary") and ds_name != "letters":
        raise ConfigError.invalid("--dataset", ds_name, "letters (the soft-binary network is 16-input)")
    ds = load_dataset(ds_name, seed)
    info: dict[str, Any] = {"recipe": recipe, "dataset": ds_name, "data_seed": seed, "seed": seed}
    with _progress(recipe) as bar:
        task = bar.add_task("", total=1)

        def progress(done: int, total: int, m: dict[str, float]) -> None:
            bar.update(task, completed=done, total=total, description=" ".join(f"{k}={v:.4f}" for k, v in m.items()))

        model: Any
        if recipe.startswith("soft-binary"):
            from labctl.train.letters import train_letters

            res = train_letters("seed" if recipe == "soft-binary" else "improved", window=window, seed=seed,
                                epochs=epochs, progress=progress)
            model, info["metrics"] = res.model, res.summary()
        elif recipe in ("mlp", "mat"):
            from labctl.train.mlp import CrossbarMLP, fit_mlp
            from labctl.train.retrain import evaluate

            model = CrossbarMLP((ds.n_features, hidden, ds.n_classes), window.g_off, window.g_on)
            n = epochs or 60
            fit_mlp(model, ds.x_train, ds.y_train, epochs=n // 2 if recipe == "mat" else n, seed=seed,
                    progress=progress)
            if recipe == "mat":
                model.noise_sd = noise
                fit_mlp(model, ds.x_train, ds.y_train, epochs=n - n // 2, seed=seed + 1, progress=progress)
                model.noise_sd = 0.0
            info["metrics"] = evaluate(model, ds.x_test, ds.y_test)
        elif recipe == "hrat":
            from labctl.train.hrat import HRATMLP, hrat_accuracies, train_hrat

            model = train_hrat(HRATMLP((ds.n_features, 512, 128, 32, ds.n_classes)), ds.x_train, ds.y_train,
                               epochs=epochs or 40, seed=seed, progress=progress)
            info["metrics"] = hrat_accuracies(model, ds.x_test, ds.y_test)
        else:
            from labctl.train.lut import BENCH_CSV, build_luts_from_csv, train_lut

            if ds.x_val is None:
                raise ConfigError.invalid("--dataset", ds_name, "breast-cancer (lut needs a validation split)")
            csv = pulse_csv or BENCH_CSV  # pulse trains measured on the simulated bench (benchmarks/pulse_csv.py)
            pooled, devices = build_luts_from_csv(csv)
            r = train_lut(ds, pooled, devices, mode=lut_mode, hidden=min(hidden, 16), epochs=epochs or 80,
                          seed=seed, progress=progress)
            model, info["metrics"] = r.model, {"test": r.test_acc, "val": r.val_acc}
    save_model(model, out, info)
    export_targets(out)
    click.echo(f"wrote {out} ({', '.join(f'{k}={v:.4f}' for k, v in info['metrics'].items() if isinstance(v, float))})")
