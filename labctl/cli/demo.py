"""``labctl demo``: a DC I-V hysteresis loop and pulse trains on the simulated Stanford/PKU RRAM cells, and the
IR drop across a 64x64 array read with wire resistance."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np


@click.command(help="I-V sweep, pulse train and the IR drop of a 64x64 read on the simulated crossbar (PNG plots).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("out/demo"),
              show_default=True, help="Directory for the plots.")
def command(out_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim_instruments import Crossbar, RRAMArray
    from sim_instruments.physics.waveforms import dc_sweep, pulse_train, triangle
    from sim_instruments.presets import STANFORD_V1

    out_dir.mkdir(parents=True, exist_ok=True)
    p = STANFORD_V1

    # 1. DC sweep 0 -> +2 -> 0 -> -2 -> 0 V at 0.5 V/ms from HRS (the vendor DCSweep deck)
    cell = RRAMArray(1, p)
    cell.gap = p.gap_max
    up, dt = triangle(2.0, 500.0, 1e-3)
    down, _ = triangle(-2.0, 500.0, 1e-3)
    volts = np.concatenate([up, down])
    _, cur = dc_sweep(cell, volts, dt)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.semilogy(volts, np.abs(cur[:, 0]) + 1e-12, lw=1.2)
    ax.set(xlabel="cell voltage V (V)", ylabel="|I| (A)",
           title="Stanford/PKU v1.0.0 defaults: DC I-V hysteresis, 0.5 V/ms")
    ax.grid(True, which="both", alpha=0.3)
    iv_path = out_dir / "iv_hysteresis.png"
    fig.tight_layout()
    fig.savefig(iv_path, dpi=120)
    plt.close(fig)

    # 2. pulse trains: gradual multilevel RESET (10 ns pulses) then abrupt SET, read on a crossbar at 0.1 V
    amps = np.array([-1.1, -1.2, -1.3, -1.5])
    arr = RRAMArray((1, 4), p, seed=0)
    arr.gap = p.gap_min
    g_reset = pulse_train(arr, amps[None, :], 10e-9, 200)
    g_set = pulse_train(arr, 1.5, 10e-9, 30)
    xb = Crossbar(arr)
    _, cols = xb.read([0.1], [0.0] * 4)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    n = np.arange(1, 231)
    for k, v in enumerate(amps):
        ax.semilogy(n, np.r_[g_reset[:, k], g_set[:, k]], label=f"RESET {v:+.1f} V, then SET +1.5 V")
    ax.axvline(200.5, color="k", lw=0.8, ls=":")
    ax.set(xlabel="pulse number (10 ns pulses)", ylabel="chord conductance at 0.1 V (S)",
           title="Pulse trains: gradual RESET to g*(V), abrupt SET")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    pt_path = out_dir / "pulse_train.png"
    fig.tight_layout()
    fig.savefig(pt_path, dpi=120)
    plt.close(fig)

    # 3. the IR drop: the voltage across every cell of a 64x64 read with wire resistance
    from labctl.cli._ir_demo import ir_drop_figure

    ir_path = out_dir / "ir_drop_64x64.png"
    ir = ir_drop_figure(plt, ir_path)

    click.echo(f"DC I-V hysteresis loop: {iv_path}")
    click.echo(f"pulse-train conductance: {pt_path}")
    click.echo(f"final crossbar read at 0.1 V (column currents, A): {np.array2string(-cols, precision=4)}")
    click.echo(f"IR drop of a 64x64 read at 0.2 V: {ir_path} (cell voltages {ir['v_min']:.3f}..{ir['v_max']:.3f} V, "
               f"{100 * ir['current_loss']:.1f} % less output current than ideal lines)")
