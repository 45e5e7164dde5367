"""The forming section of a report: the forming-voltage map of a ``forming`` run and its failures."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from labctl.store import MapArrays


class FormingMap(BaseModel):
    """Forming voltage per cell (V; None: not formed or not tested) and the failures of one forming run."""

    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="null")

    crossbar: str
    run_id: str | None = None
    origin: tuple[int, int] = (0, 0)
    read_voltage: float = Field(gt=0, description="Verify-read voltage, V")
    v_form: list[list[float | None]] = Field(description="Amplitude of the pulse that formed each cell, V")
    conductance: list[list[float | None]] = Field(description="Conductance after forming (and RESET check), S")
    status: list[list[str]] = Field(description="formed, virgin (stuck OFF), overformed (stuck ON), unformed or ''")

    def counts(self) -> dict[str, int]:
        flat = [s for row in self.status for s in row if s]
        return {k: flat.count(k) for k in ("formed", "virgin", "overformed", "unformed")}

    def v_form_stats(self) -> dict[str, float | None]:
        v = np.array([x for row in self.v_form for x in row if x is not None], dtype=float)
        if not v.size:
            return {"median": None, "p10": None, "p90": None}
        return {"median": float(np.median(v)), "p10": float(np.percentile(v, 10)),
                "p90": float(np.percentile(v, 90))}

    @classmethod
    def from_map(cls, crossbar: str, run_id: str | None, m: MapArrays) -> FormingMap:
        """From a stored "forming" map (extra arrays ``v_form`` and ``overformed``), cropped to the tested cells."""
        tested = m.status != ""
        if not tested.any():
            raise ValueError(f"forming run {run_id}: no cell was tested")
        rr, cc = np.nonzero(tested)
        r0, r1, c0, c1 = int(rr.min()), int(rr.max()) + 1, int(cc.min()), int(cc.max()) + 1
        v = np.asarray(m.extra.get("v_form", np.full(m.status.shape, np.nan)), float)[r0:r1, c0:c1]
        over = np.asarray(m.extra.get("overformed", np.zeros(m.status.shape)), float)[r0:r1, c0:c1] > 0
        st = m.status[r0:r1, c0:c1]
        kind = np.where(st == "converged", "formed", np.where(st == "stuck", "virgin",
                        np.where(st == "failed", "unformed", "")))
        kind = np.where(over, "overformed", kind)

        def lst(a: Any) -> list[list[float | None]]:
            return [[None if not np.isfinite(x) else float(x) for x in row] for row in np.asarray(a, float)]

        return cls(crossbar=crossbar, run_id=run_id, origin=(r0, c0), read_voltage=m.read_voltage, v_form=lst(v),
                   conductance=lst(m.conductance[r0:r1, c0:c1]), status=[[str(x) for x in row] for row in kind])


_MARKS = {"virgin": ("s", "black", "virgin: stuck OFF"), "overformed": ("x", "red", "over-formed: stuck ON"),
          "unformed": ("+", "magenta", "moved, not formed")}


def forming_figure(fm: FormingMap) -> bytes:
    """Forming-voltage map with the failures marked, and the forming-voltage histogram."""
    from labctl.report._plots import _png, _pyplot

    plt = _pyplot()
    v = np.array([[np.nan if x is None else x for x in row] for row in fm.v_form], dtype=float)
    st = np.array(fm.status)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), gridspec_kw={"width_ratios": [1.2, 1]})
    im = axes[0].imshow(v, cmap="magma", aspect="auto", interpolation="nearest",
                        extent=(fm.origin[1] - 0.5, fm.origin[1] + v.shape[1] - 0.5,
                                fm.origin[0] + v.shape[0] - 0.5, fm.origin[0] - 0.5))
    fig.colorbar(im, ax=axes[0], fraction=0.046, label="forming voltage (V)")
    for kind, (marker, color, label) in _MARKS.items():
        rr, cc = np.nonzero(st == kind)
        if rr.size:
            axes[0].scatter(cc + fm.origin[1], rr + fm.origin[0], marker=marker, c=color, s=16,
                            label=f"{label} ({rr.size})")
    if axes[0].get_legend_handles_labels()[0]:
        axes[0].legend(loc="upper right", fontsize=7, framealpha=0.8)
    axes[0].set_title(f"{fm.crossbar}: forming voltage")
    axes[0].set_xlabel("column")
    axes[0].set_ylabel("row")
    fin = v[np.isfinite(v)]
    axes[1].hist(fin, bins=max(5, min(40, fin.size // 3 + 1)), color="tab:orange")
    axes[1].set_xlabel("forming voltage (V)")
    axes[1].set_ylabel("cells")
    c = fm.counts()
    axes[1].set_title(f"formed {c['formed']}, stuck OFF {c['virgin']}, stuck ON {c['overformed']}", fontsize=9)
    fig.tight_layout()
    return _png(fig)
