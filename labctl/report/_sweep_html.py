"""The sweep report as one self-contained HTML page (CDFs and box plots per metric, by variant) + JSON twin."""

from __future__ import annotations

from pathlib import Path

from labctl.report._html import _CSS, _e, _img, _kv, _num, _table, write_twin
from labctl.report._plots import _png, _pyplot
from labctl.report._sweep import METRICS, SweepReport


def distribution_figure(rep: SweepReport, metric: str) -> bytes:
    """Empirical CDF per variant (left) and a box plot per variant (right) of one metric across chips."""
    plt = _pyplot()
    label, scale, unit = METRICS[metric]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.4))
    variants = rep.variants()
    data = []
    for v in variants:
        x = sorted(rep.values(metric, v) * scale)
        data.append(x)
        if x:
            ax1.step([x[0], *x], [0.0] + [(i + 1) / len(x) for i in range(len(x))], where="post",
                     label=f"{v} (n={len(x)})")
    xl = f"{label} [{unit}]" if unit else label
    ax1.set_xlabel(xl)
    ax1.set_ylabel("fraction of chips")
    ax1.set_title("CDF across chips")
    ax1.grid(alpha=0.3)
    ax1.legend(fontsize=8)
    ax2.boxplot([d if d else [float("nan")] for d in data], showmeans=True)
    ax2.set_xticks(range(1, len(variants) + 1), variants, rotation=20, fontsize=8)
    ax2.set_ylabel(xl)
    ax2.set_title("per variant")
    ax2.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return _png(fig)


def _summary_table(rep: SweepReport, metric: str) -> str:
    _label, scale, unit = METRICS[metric]
    rows = [[_e(s.variant), str(s.n)] + [_num(x * scale, ".4g") for x in (s.mean, s.std, s.min, s.p10, s.median,
                                                                             s.p90, s.max)]
            for s in rep.summaries if s.metric == metric]
    u = f" [{unit}]" if unit else ""
    return _table(["variant", "chips"] + [f"{h}{u}" for h in ("mean", "std", "min", "p10", "median", "p90", "max")],
                  rows)


def render_sweep_html(rep: SweepReport) -> str:
    parts = [f"<h1>Sweep {_e(rep.name)}</h1>",
             f'<p class="muted">{_e(rep.created)} &middot; job {_e(rep.job)} &middot; {len(rep.chips)} of '
             f"{rep.chips_total} chips completed &middot; wall {rep.wall_s:.1f} s &middot; "
             f"{rep.chips_per_hour:.1f} chips/hour</p>"]
    if rep.notes:
        parts.append("<ul>" + "".join(f"<li>{_e(n)}</li>" for n in rep.notes) + "</ul>")
    for metric in rep.metrics():
        parts.append(f"<h2>{_e(METRICS[metric][0])}</h2>")
        parts.append(_img(distribution_figure(rep, metric), f"{metric} distribution"))
        parts.append(_summary_table(rep, metric))
    parts.append("<h2>Chips</h2>")
    ms = rep.metrics()
    rows = [[_e(c.chip), _e(c.variant), str(c.seed), str(c.attempt)]
            + [_num(None if c.values.get(m) is None else c.values[m] * METRICS[m][1], ".4g")  # type: ignore[operator]
               for m in ms] + [_e(", ".join(c.runs[:4]) + (" ..." if len(c.runs) > 4 else ""))]
            for c in rep.chips]
    parts.append(_table(["chip", "variant", "seed", "attempt"] + [_e(m) for m in ms] + ["runs"], rows, left=1))
    if rep.failed:
        parts.append("<h2>Failed chips</h2>" + _table(["chip", "error"], [[_e(k), _e(v)] for k, v in
                                                                         rep.failed.items()], left=2))
    parts.append(f"<details><summary>Sweep spec</summary>{_kv(rep.spec)}</details>")
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sweep {_e(rep.name)}</title>'
            f"<style>{_CSS}</style></head><body>{''.join(parts)}</body></html>")


def write_sweep_report(rep: SweepReport, out: str | Path) -> tuple[Path, Path]:
    """Write ``out`` (HTML) and its JSON twin beside it; returns both paths."""
    return write_twin(render_sweep_html(rep), rep.to_json(), out)
