"""Report figures as PNG bytes (matplotlib Agg, imported lazily), and their base64 data URIs."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np

from labctl.report._model import LayerMaps, ProgramPass

_MARK = {"stuck": ("x", "red"), "failed": ("+", "magenta")}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    _pyplot().close(fig)
    return buf.getvalue()


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def maps_figure(lm: LayerMaps) -> bytes:
    """Target, measured and error maps side by side (uS), stuck and failed cells marked; error histogram."""
    plt = _pyplot()
    t, m, s = lm.arrays()
    err = m - t
    rows, cols = t.shape
    aspect = max(0.35, min(1.6, rows / max(cols, 1)))
    fig, axes = plt.subplots(1, 4, figsize=(13, 1.2 + 3.2 * aspect + 0.6),
                             gridspec_kw={"width_ratios": [1, 1, 1, 0.9]})
    # colour scale from the targets and the window, so one stuck-ON cell does not wash the map out
    finite = t[np.isfinite(t)]
    lo = min(float(finite.min()) if finite.size else np.inf, lm.g_off or np.inf)
    hi = max(float(finite.max()) if finite.size else -np.inf, lm.g_on or -np.inf)
    vmin, vmax = (1e6 * lo, 1e6 * hi) if np.isfinite(lo) and np.isfinite(hi) and hi > lo else (None, None)
    for ax, data, name in ((axes[0], t, "target"), (axes[1], m, "measured")):
        im = ax.imshow(1e6 * data, cmap="viridis", vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest")
        ax.set_title(f"{lm.layer} {name} (uS)")
        fig.colorbar(im, ax=ax, fraction=0.046, extend="both")
    good = np.isfinite(err) & (s == "converged")
    ref = np.abs(err[good]) if good.any() else np.abs(err[np.isfinite(err)])
    lim = 1e6 * float(np.percentile(ref, 99)) if ref.size and np.percentile(ref, 99) > 0 else 1.0
    im = axes[2].imshow(1e6 * err, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto", interpolation="nearest")
    axes[2].set_title("measured - target (uS)")
    fig.colorbar(im, ax=axes[2], fraction=0.046, extend="both")
    for ax in axes[:3]:
        ax.set_xlabel("column")
        ax.set_ylabel("row")
        for status, (marker, color) in _MARK.items():
            rr, cc = np.nonzero(s == status)
            if rr.size:
                ax.scatter(cc, rr, marker=marker, c=color, s=14, linewidths=1.0, label=f"{status} ({rr.size})")
    handles, labels = axes[1].get_legend_handles_labels()
    if handles:
        axes[1].legend(handles, labels, loc="upper right", fontsize=7, framealpha=0.8)
    e = 1e6 * err[good]
    axes[3].hist(e, bins=40, color="tab:blue")
    axes[3].set_xlabel("measured - target (uS)")
    axes[3].set_ylabel("cells")
    other = int(np.isfinite(err).sum() - good.sum())
    axes[3].set_title(f"error, converged cells\n({other} stuck/failed cells not shown)", fontsize=9)
    fig.tight_layout()
    return _png(fig)


def pulses_figure(passes: list[ProgramPass]) -> bytes:
    """Pulses-per-cell histograms of every programming pass."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    for p in passes:
        if not p.pulse_histogram:
            continue
        k = np.array(sorted(int(x) for x in p.pulse_histogram))
        v = np.array([p.pulse_histogram[str(x)] for x in k])
        ax.step(k, v, where="mid", label=f"{p.layer} / {p.stage} ({p.cells} cells)")
    ax.set_xlabel("pulses per cell")
    ax.set_ylabel("cells")
    ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)


def levels_figure(p: ProgramPass) -> bytes:
    """Histograms of the final conductances per target level (µS), each level's tolerance band shaded."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8.0, 3.2))
    for k, lv in enumerate(p.levels):
        e = np.asarray(lv.edges) * 1e6
        if e.size < 2:
            continue
        color = f"C{k % 10}"
        ax.bar(0.5 * (e[:-1] + e[1:]), lv.counts, width=np.diff(e), color=color, alpha=0.8,
               label=f"{lv.target * 1e6:.1f} µS: {lv.within}/{lv.cells}")
        ax.axvspan(0.5 * (e[0] + lv.target * 1e6), 0.5 * (e[-1] + lv.target * 1e6), color=color, alpha=0.12)
    ax.set_xlabel("final conductance (µS)")
    ax.set_ylabel("cells")
    ax.set_title(f"{p.layer} / {p.stage}: final conductance per level (shaded: tolerance band)", fontsize=9)
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return _png(fig)


def accuracy_figure(rows: list[tuple[str, dict[str, float | None]]]) -> bytes:
    """Grouped bars: software / ideal / measured crossbar accuracy per stage (%)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8.0, 3.0))
    keys = ("software", "ideal crossbar", "measured crossbar")
    x = np.arange(len(rows))
    for k, key in enumerate(keys):
        vals = [100 * (d.get(key) or 0.0) for _, d in rows]
        ax.bar(x + (k - 1) * 0.27, vals, width=0.27, label=key)
    ax.set_xticks(x, [r for r, _ in rows], fontsize=8)
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)  # beside the bars
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    return _png(fig)
