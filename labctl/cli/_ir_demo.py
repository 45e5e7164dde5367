"""The IR-drop figure of ``labctl demo``: the voltage across every cell of a 64x64 read with wire resistance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

N = 64
R_SEGMENT, R_CONTACT = 2.5, 5.0  # ohm, as configs/sim_bench_realistic.yaml
V_READ = 0.2


def ir_drop_figure(plt: Any, path: Path, seed: int = 0) -> dict[str, float]:
    """Read all 64 rows at once (0.2 V, columns at 0 V) of a 64x64 array in random states over 2.5-ohm line
    segments and 10-ohm contacts; plot each cell's voltage and its column currents against ideal lines."""
    from sim_instruments import Crossbar, RRAMArray
    from sim_instruments.presets import STANFORD_V1

    p = STANFORD_V1
    gaps = np.random.default_rng(seed).uniform(p.gap_min, p.gap_max, (N, N))
    out = []
    for wires in ({}, {"r_row": R_SEGMENT, "r_col": R_SEGMENT, "r_contact": R_CONTACT}):
        arr = RRAMArray((N, N), p, seed=seed)
        arr.gap = gaps
        xb = Crossbar(arr, **wires)
        _, cols = xb.read([V_READ] * N, [0.0] * N, 0.0)
        out.append((xb.cell_voltages([V_READ] * N, [0.0] * N), -cols))
    (_, i_ideal), (v, i_wired) = out
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), gridspec_kw={"width_ratios": [1.15, 1]})
    im = axes[0].imshow(v, cmap="viridis", interpolation="nearest", vmax=V_READ)
    fig.colorbar(im, ax=axes[0], fraction=0.046, label="cell voltage (V)")
    axes[0].set(xlabel="column (rows fed at column 0)", ylabel="row (columns fed below the last row)",
                title=f"64x64 read at {V_READ} V: {R_SEGMENT} ohm/segment, {R_CONTACT} ohm contacts")
    axes[1].plot(1e6 * i_ideal, label="ideal lines")
    axes[1].plot(1e6 * i_wired, label="with wire resistance")
    axes[1].set(xlabel="column", ylabel="column current (uA)", title="output currents")
    axes[1].legend(fontsize=8)
    axes[1].grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return {"v_min": float(v.min()), "v_max": float(v.max()),
            "current_loss": float(1.0 - i_wired.sum() / i_ideal.sum())}
