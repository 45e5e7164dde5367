"""Fault-aware placement of network layers on crossbars: fault maps in, placement out (NumPy only).

A layer is a logical ``n_in x n_out`` conductance map (rows = inputs driven together, columns = outputs whose
currents are measured). Its placement gives, per crossbar it uses, the physical row of every logical input and
the physical column of each of its logical outputs there (a :class:`Segment`); a layer may spread its outputs over
several crossbars (the inputs then drive a row on each). Layers sharing a crossbar use disjoint rows: during one
layer's inference only its rows are driven, so the other layers' cells carry no current into its columns.

:func:`place` chooses the lines from per-crossbar fault maps (cell classes from the ``scan`` protocol):

1. no stuck-ON cell in a driven row x used column (a stuck-ON cell of STANFORD_V1 reads ~1.8 mS, 24x the ON
   target, and dominates its column), whenever such a placement exists; cells the scan did not reach ('') count
   as stuck-ON (unknown cells are used only when nothing else is left);
2. then the fewest stuck-OFF / virgin cells where the binary target is ON (weight 1) or OFF (weight
   :data:`OFF_WEIGHT`), i.e. damage weighted by the target; with a ``risk`` map per crossbar (the probability that
   a cell the scan found working still fails to program, e.g. :func:`switching_risk`) a working cell counts as
   that fraction of a stuck-OFF one.

Rows are chosen by local search (swap a used row for a free one while the sum of the ``n_out`` best column costs
falls), then logical outputs and inputs are matched to physical columns and rows with minimum-cost assignment.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from labctl.analysis.assignment import assign
from labctl.core.errors import ConfigError

#: Cell classes of a fault map (the ``scan`` protocol's).
CLASSES = ("working", "stuck_on", "stuck_off", "virgin")
#: Cost of a stuck-ON cell in a used position (more than any number of stuck-OFF cells of one layer).
ON_PENALTY = 1.0e4
#: Cost of a stuck-OFF / virgin cell under an OFF target (it reads below G_OFF: nearly harmless).
OFF_WEIGHT = 0.05
ROW_LOAD = 1.0
"""A row load for ``place(..., row_load=ROW_LOAD)``: the cost of a stuck-ON cell anywhere on a driven row (also in a
column the layer does not use), which draws current from the row's driver at every pulse (V/2 on its unused column)
and drops the row's voltage on lines with wire resistance; weighed like one stuck-OFF cell under an ON target. The
loop does not set it (decision 0058: on the realistic chip it moved the layers away from the drivers)."""

Shape = tuple[int, int]


@dataclass(frozen=True)
class Segment:
    """The part of a layer on one crossbar: ``rows[i]`` carries logical input i; physical column ``cols[k]``
    carries logical output ``outputs[k]``."""

    crossbar: str
    rows: tuple[int, ...]
    cols: tuple[int, ...]
    outputs: tuple[int, ...]


@dataclass(frozen=True)
class LayerPlacement:
    """Where one layer's logical ``n_in x n_out`` map lies on the bench."""

    layer: str
    n_in: int
    n_out: int
    segments: tuple[Segment, ...]

    def scatter(self, logical: npt.ArrayLike, shapes: dict[str, Shape]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per crossbar: a full-array map (NaN elsewhere) with the logical values at their places, and its mask."""
        a = np.asarray(logical)
        if a.shape != (self.n_in, self.n_out):
            raise ConfigError.invalid(f"{self.layer}.map", f"shape {a.shape}", f"{(self.n_in, self.n_out)}")
        out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for s in self.segments:
            full = np.full(shapes[s.crossbar], np.nan, dtype=np.float64)
            mask = np.zeros(shapes[s.crossbar], dtype=bool)
            ix = np.ix_(list(s.rows), list(s.cols))
            full[ix] = a[:, list(s.outputs)]
            mask[ix] = True
            out[s.crossbar] = (full, mask)
        return out

    def gather(self, maps: Mapping[str, npt.ArrayLike], dtype: Any = None) -> np.ndarray:
        """The logical ``n_in x n_out`` map from full-array maps per crossbar."""
        first = np.asarray(maps[self.segments[0].crossbar])
        out = np.empty((self.n_in, self.n_out), dtype=dtype or first.dtype)
        for s in self.segments:
            out[:, list(s.outputs)] = np.asarray(maps[s.crossbar])[np.ix_(list(s.rows), list(s.cols))]
        return out

    def crossbars(self) -> list[str]:
        return [s.crossbar for s in self.segments]


@dataclass
class Placement:
    """The placement of every layer, with what it leaves in use (per layer: counts of cells by fault class)."""

    layers: dict[str, LayerPlacement]
    method: str = "fault-aware"
    damage: dict[str, dict[str, int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "damage": self.damage,
                "layers": {k: asdict(v) for k, v in self.layers.items()}}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Placement:
        layers = {}
        for k, v in d["layers"].items():
            segs = tuple(Segment(s["crossbar"], tuple(s["rows"]), tuple(s["cols"]), tuple(s["outputs"]))
                         for s in v["segments"])
            layers[k] = LayerPlacement(v["layer"], int(v["n_in"]), int(v["n_out"]), segs)
        return cls(layers, d.get("method", "fault-aware"), dict(d.get("damage", {})))

    @classmethod
    def from_json(cls, text: str) -> Placement:
        return cls.from_dict(json.loads(text))

    def check(self, shapes: dict[str, Shape]) -> None:
        """Every segment inside its crossbar, each logical line placed once, no two layers on one cell line pair."""
        used_rows: dict[str, set[int]] = {}
        for lp in self.layers.values():
            seen: list[int] = []
            for s in lp.segments:
                if s.crossbar not in shapes:
                    raise ConfigError.invalid(f"placement.{lp.layer}.crossbar", s.crossbar, ", ".join(shapes))
                rows, cols = shapes[s.crossbar]
                if len(s.rows) != lp.n_in or len(set(s.rows)) != lp.n_in or not all(0 <= r < rows for r in s.rows):
                    raise ConfigError.invalid(f"placement.{lp.layer}.rows", s.rows,
                                              f"{lp.n_in} distinct rows of 0..{rows - 1}")
                if len(set(s.cols)) != len(s.cols) or not all(0 <= c < cols for c in s.cols):
                    raise ConfigError.invalid(f"placement.{lp.layer}.cols", s.cols,
                                              f"distinct columns of 0..{cols - 1}")
                taken = used_rows.setdefault(s.crossbar, set())
                if taken & set(s.rows):
                    raise ConfigError.invalid(f"placement.{lp.layer}.rows", sorted(taken & set(s.rows)),
                                              "rows no other layer uses on that crossbar")
                taken |= set(s.rows)
                seen += list(s.outputs)
            if sorted(seen) != list(range(lp.n_out)):
                raise ConfigError.invalid(f"placement.{lp.layer}.outputs", sorted(seen),
                                          f"each of 0..{lp.n_out - 1} once")


def origin_placement(origins: dict[str, tuple[str, int, int]], shapes: dict[str, Shape]) -> Placement:
    """The fixed placement: each layer as one block at (row0, col0) of its crossbar."""
    layers = {}
    for name, (n_in, n_out) in shapes.items():
        if name not in origins:
            raise ConfigError.invalid("placement", sorted(origins), f"an entry for layer {name}")
        xb, r0, c0 = origins[name]
        layers[name] = LayerPlacement(name, n_in, n_out, (Segment(xb, tuple(range(r0, r0 + n_in)),
                                                                  tuple(range(c0, c0 + n_out)),
                                                                  tuple(range(n_out))),))
    return Placement(layers, method="fixed origins")


def _masks(classes: npt.ArrayLike, risk: npt.ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(cells never to use when avoidable: stuck-ON and unscanned '', the odds that a cell does not turn ON:
    1 for stuck-OFF / virgin cells, ``risk`` (default 0) for the others)."""
    c = np.asarray(classes).astype(str)
    bad = set(np.unique(c)) - {*CLASSES, ""}
    if bad:
        raise ConfigError.invalid("fault map", sorted(bad), ", ".join(CLASSES) + " or '' (not scanned)")
    off = ((c == "stuck_off") | (c == "virgin")).astype(np.float64)
    if risk is not None:
        r = np.asarray(risk, dtype=np.float64)
        if r.shape != c.shape or not np.all((r >= 0) & (r <= 1)):
            raise ConfigError.invalid("risk", f"shape {r.shape}, range {r.min():g}..{r.max():g}",
                                      f"shape {c.shape}, values in 0..1")
        off = np.maximum(off, r)
    return (c == "stuck_on") | (c == ""), off


def switching_risk(classes: npt.ArrayLike, window: int = 9) -> np.ndarray:
    """Per cell: the fraction of stuck-OFF / virgin cells of the scan in the ``window`` x ``window`` square around
    it (clipped at the array's edges). On a chip with wire resistance the cells the scan's test SET cannot switch
    cluster far from the drivers, and the ones it did switch there are marginal: write-verify fails more often
    among them (decision 0055)."""
    if window < 1 or window % 2 == 0:
        raise ConfigError.invalid("window", window, "an odd number of cells >= 1")
    c = np.asarray(classes).astype(str)
    bad = ((c == "stuck_off") | (c == "virgin")).astype(np.float64)
    h = window // 2
    s = np.zeros((bad.shape[0] + 1, bad.shape[1] + 1))
    s[1:, 1:] = bad.cumsum(axis=0).cumsum(axis=1)
    r0 = np.clip(np.arange(bad.shape[0]) - h, 0, bad.shape[0])
    r1 = np.clip(np.arange(bad.shape[0]) + h + 1, 0, bad.shape[0])
    c0 = np.clip(np.arange(bad.shape[1]) - h, 0, bad.shape[1])
    c1 = np.clip(np.arange(bad.shape[1]) + h + 1, 0, bad.shape[1])
    total = s[np.ix_(r1, c1)] - s[np.ix_(r0, c1)] - s[np.ix_(r1, c0)] + s[np.ix_(r0, c0)]
    area = np.outer(r1 - r0, c1 - c0)
    return np.asarray(total / area)


def _weights(on_target: npt.ArrayLike | None, shape: Shape) -> np.ndarray:
    """Per logical cell: the damage of a stuck-OFF / virgin cell there (1 under an ON target)."""
    if on_target is None:
        return np.full(shape, 0.5 * (1.0 + OFF_WEIGHT))
    t = np.asarray(on_target, dtype=bool)
    if t.shape != shape:
        raise ConfigError.invalid("on_target", f"shape {t.shape}", f"{shape}")
    return np.where(t, 1.0, OFF_WEIGHT)


def _best_rows(rowkey: np.ndarray, n_in: int, n_out: int, rng: np.random.Generator, restarts: int) -> np.ndarray:
    """Local search: ``n_in`` of the rows of ``rowkey`` (rows x cols costs) minimising the sum of the ``n_out``
    smallest column sums. Returns indices into ``rowkey``."""
    nf, m = rowkey.shape
    k = min(n_out, m)

    def objective(cc: np.ndarray) -> float:
        return float(np.partition(cc, k - 1)[:k].sum())

    best: tuple[float, np.ndarray] | None = None
    for run in range(restarts + 1):
        order = np.argsort(rowkey.sum(axis=1), kind="stable") if run == 0 else rng.permutation(nf)
        chosen = order[:n_in].copy()
        free = order[n_in:].copy()
        cc = rowkey[chosen].sum(axis=0)
        score = objective(cc)
        improved = len(free) > 0
        while improved:
            improved = False
            for pos in range(n_in):
                base = cc - rowkey[chosen[pos]]
                cand = base[None, :] + rowkey[free]
                scores = np.partition(cand, k - 1, axis=1)[:, :k].sum(axis=1)
                j = int(np.argmin(scores))
                if scores[j] < score - 1e-9:
                    chosen[pos], free[j] = free[j], chosen[pos]
                    cc, score, improved = cand[j], float(scores[j]), True
        if best is None or score < best[0]:
            best = (score, chosen.copy())
    assert best is not None
    return best[1]


def place(
    shapes: dict[str, Shape],
    faults: Mapping[str, npt.ArrayLike],
    *,
    on_targets: Mapping[str, npt.ArrayLike] | None = None,
    free_rows: dict[str, list[int]] | None = None,
    risk: Mapping[str, npt.ArrayLike] | None = None,
    row_load: float = 0.0,
    restarts: int = 6,
    seed: int = 0,
) -> Placement:
    """Place each layer (``shapes``: layer -> (n_in, n_out), placed in order of decreasing size) on the crossbars
    of ``faults`` (crossbar -> array of cell classes, see :data:`CLASSES`). ``on_targets``: layer -> bool map of its
    ON cells (weights stuck-OFF damage; unknown = equal odds). ``free_rows``: crossbar -> rows that may be used
    (default all). ``risk``: crossbar -> per-cell odds (0..1) that a working cell fails to turn ON (see
    :func:`switching_risk`; default 0). ``row_load``: the cost of each stuck-ON cell on a driven row (see
    :data:`ROW_LOAD`; default 0). Deterministic for a given ``seed``."""
    if not 0 <= row_load < ON_PENALTY:
        raise ConfigError.out_of_range("row_load", row_load, 0, ON_PENALTY)
    if not faults:
        raise ConfigError.invalid("faults", "{}", "at least one crossbar's fault map")
    rng = np.random.default_rng(seed)
    masks = {x: _masks(f, None if risk is None else risk.get(x)) for x, f in faults.items()}
    free = {x: sorted(free_rows[x]) if free_rows and x in free_rows else list(range(m[0].shape[0]))
            for x, m in masks.items()}
    layers: dict[str, LayerPlacement] = {}
    order = sorted(shapes, key=lambda n: -shapes[n][0] * shapes[n][1])
    for k, name in enumerate(order):
        n_in, n_out = shapes[name]
        w = _weights(None if on_targets is None else on_targets.get(name), (n_in, n_out))
        rest = [shapes[n][0] for n in order[k + 1:]]
        lp = _place_layer(name, n_in, n_out, w, masks, free, rng, restarts, row_load)
        if not _room(rest, _after(free, lp)):  # a split took the rows a later layer needs: one crossbar instead
            single = []
            for x in masks:
                if len(free[x]) < n_in:
                    continue
                cand = _place_layer(name, n_in, n_out, w, {x: masks[x]}, free, rng, restarts, row_load)
                if _room(rest, _after(free, cand)):
                    single.append((_cost(cand, masks, w, row_load), x, cand))
            if single:
                lp = min(single, key=lambda t: t[:2])[2]
        layers[name] = lp
        free = _after(free, lp)
    placement = Placement({n: layers[n] for n in shapes})
    placement.damage = damage(placement, faults, on_targets)
    return placement


def _after(free: dict[str, list[int]], lp: LayerPlacement) -> dict[str, list[int]]:
    """The free rows once ``lp`` holds its rows."""
    used = {s.crossbar: set(s.rows) for s in lp.segments}
    return {x: [r for r in rows if r not in used.get(x, set())] for x, rows in free.items()}


def _room(n_ins: list[int], free: dict[str, list[int]]) -> bool:
    """Whether layers needing ``n_ins`` rows each (largest first, each on the crossbar with the most free rows)
    still find their rows."""
    left = {x: len(r) for x, r in free.items()}
    for n in sorted(n_ins, reverse=True):
        x = max(left, key=lambda k: left[k])
        if left[x] < n:
            return False
        left[x] -= n
    return True


def _cost(lp: LayerPlacement, masks: dict[str, tuple[np.ndarray, np.ndarray]], w: np.ndarray,
          row_load: float) -> float:
    """Stuck-ON cells under a placement (weighted ``ON_PENALTY``), stuck-ON cells on its rows (``row_load``) plus
    the expected stuck-OFF damage."""
    total = 0.0
    for s in lp.segments:
        on, off = masks[s.crossbar]
        r, c, o = list(s.rows), list(s.cols), list(s.outputs)
        total += ON_PENALTY * float(on[np.ix_(r, c)].sum()) + float((w[:, o] * off[np.ix_(r, c)]).sum())
        total += row_load * float(on[r].sum())
    return total


def _place_layer(name: str, n_in: int, n_out: int, w: np.ndarray, masks: dict[str, tuple[np.ndarray, np.ndarray]],
                 free: dict[str, list[int]], rng: np.random.Generator, restarts: int, row_load: float
                 ) -> LayerPlacement:
    mean_w = w.mean(axis=1).sum()  # expected damage of one stuck-OFF cell per column, before assignment
    rows: dict[str, np.ndarray] = {}
    colkey: dict[str, np.ndarray] = {}
    for x, (on, off) in masks.items():
        if len(free[x]) < n_in:
            continue
        fr = np.asarray(free[x])
        key = ON_PENALTY * on[fr] + (mean_w / n_in) * off[fr]
        load = (row_load / n_out) * on[fr].sum(axis=1, keepdims=True)  # a row's load, spread over the columns used
        rows[x] = fr[_best_rows(key + load, n_in, n_out, rng, restarts)]
        colkey[x] = key[np.searchsorted(fr, rows[x])].sum(axis=0)
    if not rows:
        raise ConfigError.invalid(f"placement.{name}", f"{n_in} inputs", "a crossbar with that many free rows")
    k_single = {x: float(np.sort(c)[:n_out].sum()) for x, c in colkey.items() if len(c) >= n_out}
    every = np.concatenate(list(colkey.values()))
    if len(every) < n_out:
        raise ConfigError.invalid(f"placement.{name}", f"{n_out} outputs", f"at most {len(every)} free columns")
    k_split = float(np.sort(every)[:n_out].sum())
    if k_single and min(k_single.values()) <= k_split + 0.5 * ON_PENALTY:
        use = [min(k_single, key=lambda x: k_single[x])]
    else:
        use = list(colkey)
    segs: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for _round in range(3):
        cand = [(x, c) for x in use for c in range(masks[x][0].shape[1])]
        cost = np.concatenate([ON_PENALTY * masks[x][0][rows[x]].sum(axis=0)[None, :]
                               + w.T @ masks[x][1][rows[x]].astype(np.float64) for x in use], axis=1)
        pick = assign(cost)
        segs = {}
        for x in use:
            outs = np.array([j for j in range(n_out) if cand[pick[j]][0] == x], dtype=np.int64)
            if len(outs):
                cols = np.array([cand[pick[j]][1] for j in outs], dtype=np.int64)
                segs[x] = (rows[x], cols, outs)
        for x, (_r, cols, outs) in list(segs.items()):  # inputs to rows, given the columns
            fr = np.asarray(free[x])
            on, off = masks[x]
            rc = (ON_PENALTY * on[np.ix_(fr, cols)].sum(axis=1) + row_load * on[fr].sum(axis=1))[None, :] \
                + w[:, outs] @ off[np.ix_(fr, cols)].astype(np.float64).T
            rows[x] = fr[assign(rc)]
            segs[x] = (rows[x], cols, outs)
    return LayerPlacement(name, n_in, n_out, tuple(
        Segment(x, tuple(int(r) for r in r_), tuple(int(c) for c in c_), tuple(int(o) for o in o_))
        for x, (r_, c_, o_) in segs.items()))


def damage(placement: Placement, faults: Mapping[str, npt.ArrayLike],
           on_targets: Mapping[str, npt.ArrayLike] | None = None) -> dict[str, dict[str, int]]:
    """Per layer: used cells by fault class (``stuck_on`` counts stuck-ON cells in a driven row x used column),
    and stuck-OFF / virgin cells under an ON target (when targets are given)."""
    out: dict[str, dict[str, int]] = {}
    for name, lp in placement.layers.items():
        classes = lp.gather({x: np.asarray(f).astype(str) for x, f in faults.items() if x in lp.crossbars()},
                            dtype="<U9")
        d = {c: int((classes == c).sum()) for c in CLASSES}
        if on_targets is not None and name in on_targets:
            t = np.asarray(on_targets[name], dtype=bool)
            d["off_under_on_target"] = int((((classes == "stuck_off") | (classes == "virgin")) & t).sum())
        d["crossbars"] = len(lp.segments)
        out[name] = d
    return out
