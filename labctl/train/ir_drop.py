"""The trainer's model of a crossbar with wire resistance: IR drop on the lines, differentiable and fast (torch).

Layout (the simulator's, ``sim_instruments`` decision 0025): cell (i, j) joins row line i to column line j; row i
is driven at its end next to column 0 through ``r_contact``, with ``r_row`` between neighbouring cells; column j
is held at 0 V at its end next to the last row through ``r_contact``, with ``r_col`` between neighbouring cells.
During inference the driven rows carry the input voltages and every other line is grounded (the bench senses
one column at a time with the rest grounded; for cells that are linear at read voltages this is the same
network as all rows driven at once, by superposition).

:func:`ir_column_currents` solves that linear network by a fixed-point iteration on the cell currents ``I``::

    top[i, j] = V[i] - r_contact * sum_k I[i, k] - r_row * sum_{m=1..j} sum_{k>=m} I[i, k]
    bot[i, j] = r_contact * sum_k I[k, j] + r_col * sum_{m=i..R-2} sum_{k<=m} I[k, j]
    I = G * (top - bot)

(cumulative sums along the lines), as many steps as the coupling asks for (:func:`ir_column_currents`). Each
step is a handful of tensor ops, so gradients flow to ``G`` and ``V``
through the unrolled steps. The first step is the ideal crossbar ``I = G V``; one more step is the classical
first-order IR-drop correction. It converges while the wire coupling ``r * (line length) * (line conductance)``
stays below about 1, which holds for arrays whose unused cells are parked OFF (``protocols.scan`` with
``order = set_reset``) and fails for arrays full of 1.8 mS fresh cells; :func:`coupling` says how close a map is.
Tested against the simulator's full nodal solve (``sim_instruments.solve_crossbar``) in
``tests/train/test_ir_drop.py``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch
from torch import Tensor

from labctl.core.errors import ConfigError


@dataclass(frozen=True)
class LineResistance:
    """Wire resistances of one crossbar, ohms (per row segment, per column segment, per pad contact)."""

    r_row: float = 0.0
    r_col: float = 0.0
    r_contact: float = 0.0

    def __post_init__(self) -> None:
        for name in ("r_row", "r_col", "r_contact"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not (math.isfinite(v) and 0 <= v <= 1e6):
                raise ConfigError.out_of_range(name, v, 0.0, 1e6, "ohm")

    @property
    def ideal(self) -> bool:
        return self.r_row == 0 and self.r_col == 0 and self.r_contact == 0


def coupling(g: Tensor, wires: LineResistance, n_rows: int | None = None) -> float:
    """The largest ``r * sum(G)`` of any line with its full length of wire (dimensionless): the fixed point
    converges geometrically at about this rate; above ~1 it does not. ``n_rows``: the array's rows when ``g`` holds
    only some of them (the driven ones), for the columns' wire length."""
    rows, cols = g.shape
    rows = rows if n_rows is None else n_rows
    row_c = float(g.sum(dim=1).max()) * (wires.r_contact + wires.r_row * (cols - 1))
    col_c = float(g.sum(dim=0).max()) * (wires.r_contact + wires.r_col * (rows - 1))
    return max(row_c, col_c)


def ir_column_currents(v_rows: Tensor, g: Tensor, wires: LineResistance, iterations: int | None = None, *,
                       rows: tuple[int, ...] | None = None, n_rows: int | None = None, tol: float = 1e-4) -> Tensor:
    """Currents into the grounded column pads, A: ``(batch, rows)`` row voltages over a ``(rows, cols)``
    conductance map (S) with wire resistance; ``iterations = 1`` is the ideal ``V @ G``.

    ``rows`` (ascending physical row indices of an ``n_rows``-row array) says that ``g`` holds only those rows:
    the driven ones. The rows left out are grounded; their cells' leak from the columns (a few mV at most) is
    neglected, their wire is not (the column segments between the kept rows and down to the pad are summed).
    ``iterations`` None: enough steps for a relative error ``tol`` at the map's :func:`coupling` (2 to 16).
    """
    if g.dim() != 2 or v_rows.dim() != 2 or v_rows.shape[1] != g.shape[0]:
        raise ConfigError.invalid("v_rows/g shapes", (tuple(v_rows.shape), tuple(g.shape)),
                                  "(batch, rows) voltages and a (rows, cols) map")
    n_kept = int(g.shape[0])
    phys = list(range(n_kept)) if rows is None else [int(r) for r in rows]
    total = n_kept if n_rows is None else int(n_rows)
    if len(phys) != n_kept or any(b <= a for a, b in itertools.pairwise(phys)) or phys[-1] >= total:
        raise ConfigError.invalid("rows", phys[:4], f"{n_kept} ascending row indices below {total}")
    if iterations is None:
        c = coupling(g.detach(), wires)
        iterations = 2 if c <= tol else 16 if c >= 0.6 else min(16, max(2, 1 + math.ceil(math.log(tol) / math.log(c))))
    if iterations < 1:
        raise ConfigError.out_of_range("iterations", iterations, 1, None)
    v = v_rows[:, :, None]  # (B, R, 1)
    cur = g[None] * v  # (B, R, C): the ideal crossbar
    if wires.ideal:
        return cur.sum(dim=1)
    # column wire between consecutive kept rows, and from the last kept row to the pad
    seg = torch.as_tensor([wires.r_col * (b - a) for a, b in itertools.pairwise(phys)] + [0.0],
                          dtype=g.dtype)[None, :, None]
    pad_r = wires.r_contact + wires.r_col * (total - 1 - phys[-1])
    for _ in range(iterations - 1):
        # row lines: current through the segment before column m is the sum of the cells from m on
        tail = torch.flip(torch.cumsum(torch.flip(cur, [2]), dim=2), [2])  # (B, R, C), tail[..., m]
        drop_r = wires.r_contact * tail[:, :, :1] + wires.r_row * torch.cumsum(
            torch.nn.functional.pad(tail[:, :, 1:], (1, 0)), dim=2)
        # column lines: the wire below kept row m carries the cells up to m
        head = torch.cumsum(cur, dim=1)  # (B, R, C), head[:, m] = sum_{k<=m}
        rise_c = pad_r * head[:, -1:, :] + torch.flip(torch.cumsum(torch.flip(seg * head, [1]), dim=1), [1])
        cur = g[None] * (v - drop_r - rise_c)
    return cur.sum(dim=1)
