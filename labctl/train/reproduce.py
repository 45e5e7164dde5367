"""Regenerate the README's trainer results table: ``.venv/bin/python -m labctl.train.reproduce [--out DIR]``.

Runs (CPU, a few minutes on 2 cores): letters seed-001 reproduction, as written and with ``SEED_TEMPERED`` (of 8
restarts each the one with the best training accuracy, ``letters.select_restart``), and the improved network;
seed 002's robustness curve on digits (10 draws per noise level, PNG); HRAT FC-4 on digits vs the float model;
device-LUT training on breast cancer (numeric / standard / multi, tables from the simulated bench's pulse trains);
chip-in-the-loop recovery with 5 % stuck-ON + 5 % stuck-OFF cells.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from labctl.train.base import accuracy
from labctl.train.datasets import load_breast_cancer, load_digits
from labctl.train.hrat import HRATMLP, hrat_accuracies, train_hrat
from labctl.train.letters import SEED_RECIPE, SEED_TEMPERED, select_restart, train_letters
from labctl.train.letters_robust import float_mlp_accuracies, noisy_crossbar_accuracies
from labctl.train.lut import lut_accuracies
from labctl.train.mlp import CrossbarMLP, fit_mlp
from labctl.train.noisy_letters import TEST_SEED
from labctl.train.retrain import chip_in_the_loop, evaluate
from labctl.train.synthetic import program_with_faults

NOISE_LEVELS = (0.0, 0.05, 0.10, 0.15, 0.20, 0.25, 0.30)


def robustness_curve(draws: int = 10, seed: int = 0) -> dict[str, list[float]]:
    """Seed 002 on digits: reference (no noise) vs MAT (pre-train, then retrain with 20 % noise)."""
    d = load_digits()
    ref = fit_mlp(CrossbarMLP((64, 128, 10)), d.x_train, d.y_train, epochs=60, seed=seed)
    mat = fit_mlp(CrossbarMLP((64, 128, 10)), d.x_train, d.y_train, epochs=30, seed=seed)
    mat.noise_sd = 0.20
    fit_mlp(mat, d.x_train, d.y_train, epochs=30, seed=seed + 1)
    mat.noise_sd = 0.0
    out: dict[str, list[float]] = {"noise": list(NOISE_LEVELS), "reference": [], "mat": []}
    xt, yt = torch.as_tensor(d.x_test), torch.as_tensor(d.y_test)
    for name, m in (("reference", ref), ("mat", mat)):
        m.train()  # noise is only applied in training mode; there are no dropout/BN layers
        for lvl in NOISE_LEVELS:
            m.noise_sd = lvl
            torch.manual_seed(seed)
            with torch.no_grad():
                out[name].append(float(np.mean([accuracy(m(xt), yt) for _ in range(draws)])))
        m.noise_sd = 0.0
        m.eval()
    return out


def plot_curve(curve: dict[str, list[float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    x = [100 * v for v in curve["noise"]]
    ax.plot(x, [100 * v for v in curve["reference"]], "o-", label="reference (noise-free training)")
    ax.plot(x, [100 * v for v in curve["mat"]], "s-", label="memristor-aware (20 % noise)")
    ax.set_xlabel("weight noise std (% of 2 max|w|)")
    ax.set_ylabel("digits test accuracy (%)")
    ax.grid(True)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _restarts(recipe: str | dict[str, Any], restarts: int) -> dict[str, Any]:
    """``restarts`` seeds of one letters recipe: the restart :func:`select_restart` picks, every restart's
    training / software / crossbar accuracy, their means, and the lowest-training-loss restart (seed 000's own
    criterion) for comparison."""
    runs = [train_letters(recipe, seed=s) for s in range(restarts)]
    best = select_restart(runs)
    by_loss = min(runs, key=lambda r: r.train_loss)
    keys = ("train_acc", "train_loss", "software_acc", "crossbar_acc", "software_acc_640", "crossbar_acc_640")
    per = {f"restarts_{k}": [float(getattr(r, k)) for r in runs] for k in keys}
    mean = {f"mean_{k}": float(np.mean(per[f"restarts_{k}"])) for k in keys if k != "train_loss"}
    return (best.summary() | {"restart": runs.index(best), "selected_by": "train_acc"} | per | mean
            | {"lowest_loss": by_loss.summary() | {"restart": runs.index(by_loss)}})


def run_noisy_letters(seed: int = 0) -> dict[str, Any]:
    """Issue 14: accuracy on noisier letters (:mod:`labctl.train.noisy_letters`, seed ``TEST_SEED``) of a float
    MLP 16-32-4 trained with the mixed augmentation, of the improved network and of the robust network (the main
    job's), both as binarized crossbars; the robust network's 160-image numbers beside them."""
    improved = train_letters("improved", seed=seed).model
    robust = train_letters("robust", seed=seed)
    return {
        "description": "noisy letters (2-/3-pixel flips, Gaussian pixel noise 0.3/0.4/0.5 clipped; 25 noisy copies "
                       f"of each of the 40 clean letters per set, seed {TEST_SEED}): float MLP 16-32-4 vs the "
                       "binarized crossbar of the improved and the robust (main job's) 16-32-4 network",
        "float_mlp": float_mlp_accuracies(seed),
        "improved": noisy_crossbar_accuracies(improved),
        "robust": noisy_crossbar_accuracies(robust.model),
        "robust_160": robust.summary(),
    }


def run_letters(restarts: int = 8) -> dict[str, Any]:
    """Seed 001 reproduction: the notebook-faithful recipe and the same circuit trained with a logit temperature
    and Adam (:data:`SEED_TEMPERED`), ``restarts`` seeds each; the improved network; noisy letters."""
    return {"letters_seed": _restarts("seed", restarts),
            "letters_seed_tempered": _restarts(SEED_RECIPE | SEED_TEMPERED, restarts),
            "letters_improved": train_letters("improved", seed=0).summary(),
            "letters_noisy": run_noisy_letters()}


def run(out: Path, restarts: int = 8) -> dict[str, Any]:
    torch.set_num_threads(2)
    out.mkdir(parents=True, exist_ok=True)
    res: dict[str, Any] = run_letters(restarts)
    curve = robustness_curve()
    res["robustness"] = curve
    plot_curve(curve, out / "robustness_curve.png")
    d = load_digits()
    flt = train_hrat(HRATMLP(hw=False), d.x_train, d.y_train, epochs=40)
    hr = train_hrat(HRATMLP(), d.x_train, d.y_train, epochs=40)
    res["hrat"] = {"float": hrat_accuracies(flt, d.x_test, d.y_test)["offline"]} | hrat_accuracies(hr, d.x_test,
                                                                                                   d.y_test)
    bc = load_breast_cancer()
    # tables from the simulated bench's pulse_train run (benchmarks/pulse_csv.py), 10 training seeds per mode
    res["lut"] = lut_accuracies(bc, seeds=tuple(range(10)))
    m = fit_mlp(CrossbarMLP((64, 64, 10)), d.x_train, d.y_train, epochs=60)
    meas = program_with_faults(m.target_maps(), stuck_on=0.05, stuck_off=0.05, sigma=0.01, seed=1)
    before = evaluate(m, d.x_test, d.y_test, meas)
    loop = chip_in_the_loop(m, meas, d.x_train, d.y_train, x_test=d.x_test, y_test=d.y_test, epochs=30)
    res["chip_loop"] = {"before": before, "after": loop.after, "cells_to_program": loop.cells_to_program,
                        "cells_total": {k: int(v.targets.size) for k, v in loop.targets.items()}}
    (out / "results.json").write_text(json.dumps(res, indent=1))
    (out / "results.md").write_text(table(res))
    return res


def _p(v: float) -> str:
    return f"{100 * v:.1f} %"


def _ms(v: list[float]) -> str:
    a = 100 * np.asarray(v)
    return f"{a.mean():.1f} +- {a.std():.1f} % ({a.min():.1f}-{a.max():.1f})"


def _seed_row(ls: dict[str, Any], what: str) -> str:
    p, n = _p, len(ls["restarts_train_acc"])
    sig = f"sigma {ls.get('program_sigma', 0.0):g}"
    return (f"| letters 16-8-4 soft-binarized, {what}; of {n} restarts the best training accuracy: training / "
            f"software / programmed crossbar ({sig} lognormal, 20 draws) / drop on 160 flipped images; software on "
            f"640 | 87.5 / 80.6 / 78.8 / 1.8 %; 640: 78.3 % | {p(ls['train_acc'])} / {p(ls['software_acc'])} / "
            f"{p(ls['crossbar_acc'])} / {p(ls['drop'])}; 640: {p(ls['software_acc_640'])} (mean of the {n} restarts: "
            f"{p(ls['mean_train_acc'])} / {p(ls['mean_software_acc'])} / {p(ls['mean_crossbar_acc'])}; 640: "
            f"{p(ls['mean_software_acc_640'])}) |")


def letters_rows(r: dict[str, Any]) -> list[str]:
    """The letters rows: crossbar = programmed with lognormal variation (sigma, mean of draws); the seed rows give
    the picked restart and the means over all restarts."""
    li, p = r["letters_improved"], _p
    sig = f"sigma {r['letters_seed'].get('program_sigma', 0.0):g}"
    rows = [_seed_row(r["letters_seed"], "seed 000/001 recipe as written (raw output volts as logits, plain SGD)")]
    if "letters_seed_tempered" in r:
        rows.append(_seed_row(r["letters_seed_tempered"], "same circuit, logits = output volts x 100, Adam 1e-3 "
                                                           "(`SEED_TEMPERED`)"))
    rows.append(f"| letters 16-32-4 differential binary pairs (improved), software / programmed crossbar ({sig}) / "
                f"drop | goal >= 95 %, drop <= 1 % | {p(li['software_acc'])} / {p(li['crossbar_acc'])} / "
                f"{p(li['drop'])} (640 images: crossbar {p(li['crossbar_acc_640'])}) |")
    if "letters_noisy" in r:
        rows.append(noisy_row(r["letters_noisy"]))
    return rows


def noisy_row(n: dict[str, Any]) -> str:
    """The noisy-letters row: float MLP vs the robust network (vs the improved one), per set and mean."""
    sets = [k for k in n["float_mlp"] if k != "mean"]

    def per(a: dict[str, float]) -> str:
        return " / ".join(f"{100 * a[k]:.1f}" for k in [*sets, "mean"]) + " %"

    rb = n["robust_160"]
    return (f"| letters on noisier images ({' / '.join(sets)} / mean; 1000 images each, from the 40 clean letters): "
            f"float MLP 16-32-4 vs robust 16-32-4 crossbar (main job's) vs improved crossbar | float MLP ~96 % on "
            f"the issue's hidden set; goal: within ~1 % of float | {per(n['float_mlp'])} vs {per(n['robust'])} vs "
            f"{per(n['improved'])}; robust on the 160 images: software {_p(rb['software_acc'])}, crossbar "
            f"{_p(rb['crossbar_acc'])}, drop {_p(rb['drop'])} |")


def table(r: dict[str, Any]) -> str:
    p = _p
    h, lut, c = r["hrat"], r["lut"], r["chip_loop"]
    rob = r["robustness"]
    rows = [
        "| experiment | seed's number | ours |",
        "|---|---|---|",
        *letters_rows(r),
        "| digits 64-128-10 under weight noise 0/10/20/30 %: reference vs memristor-aware (seed 002) | MAT flatter | "
        + " / ".join(p(rob["reference"][i]) for i in (0, 2, 4, 6)) + " vs "
        + " / ".join(p(rob["mat"][i]) for i in (0, 2, 4, 6)) + " |",
        f"| HRAT FC-4 on digits: float / offline HRAT / deployed (seed 003: 98.60 vs 97.82 % MNIST) | within 1 % | "
        f"{p(h['float'])} / {p(h['offline'])} / {p(h['deployed'])} |",
        "| device-LUT MLP, breast cancer test, tables from simulated-bench pulse trains: numeric / standard / multi, "
        f"mean +- std (min-max) of {len(lut['numeric'])} seeds (seed 004: 92.9-97.8 %) | >= 97 % | "
        + " / ".join(_ms(lut[m]) for m in ("numeric", "standard", "multi")) + " |",
        f"| chip in the loop, statistical stand-in chip (`program_with_faults`), digits 64-64-10, 5 % stuck-ON "
        f"+ 5 % stuck-OFF: measured before / after | MemTorch "
        f"33-39 % without retraining; goal >= 95 % | {p(c['before']['measured'])} / {p(c['after']['measured'])} "
        f"(reprogram {sum(c['cells_to_program'].values())} of {sum(c['cells_total'].values())} cells) |",
    ]
    return "\n".join(rows) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="results/train")
    ap.add_argument("--restarts", type=int, default=8)
    ap.add_argument("--only", choices=("all", "letters", "noisy"), default="all",
                    help="letters: only the letters rows (results_letters.json); noisy: only the noisy-letters row "
                         "(results_noisy.json)")
    a = ap.parse_args()
    if a.only == "noisy":
        torch.set_num_threads(2)
        noisy = run_noisy_letters()
        Path(a.out).mkdir(parents=True, exist_ok=True)
        (Path(a.out) / "results_noisy.json").write_text(json.dumps({"letters_noisy": noisy}, indent=1))
        print(noisy_row(noisy))
        return
    if a.only == "letters":
        torch.set_num_threads(2)
        res = run_letters(a.restarts)
        Path(a.out).mkdir(parents=True, exist_ok=True)
        (Path(a.out) / "results_letters.json").write_text(json.dumps(res, indent=1))
        print("\n".join(letters_rows(res)))
        return
    res = run(Path(a.out), a.restarts)
    print(table(res))


if __name__ == "__main__":
    main()
