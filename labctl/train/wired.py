"""The letters network as it runs on the chip: its layers at their placed lines, with wire resistance.

:class:`ChipLines` is what the trainer knows of the chip beyond the layers' own maps: per layer, where each logical
input and output sits (crossbar, physical rows, physical columns, as ``labctl.analysis.placement`` chose them),
per crossbar the wire resistances (the simulated bench's ``sim.wires``, or a calibration of a real bench) and
the conductance of every cell as last read (the scan's map with the layers' measured maps over it).

:class:`WiredNet` is a :class:`~labctl.train.letters.SoftBinaryNet` whose crossbar products go through
:func:`~labctl.train.ir_drop.ir_column_currents` on the full physical array: the layer's cells at their places,
every other cell at what it read, the layer's rows driven and every other line grounded (how the bench runs
inference). Everything else (binarization, amplifiers, clamps, retraining) is the base network's, so
``retrain_letters(WiredNet.wrap(model, lines), ...)`` retrains around the measured maps *and* the IR drop.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

from labctl.core.errors import ConfigError
from labctl.train.ir_drop import LineResistance, coupling, ir_column_currents
from labctl.train.letters import SoftBinaryNet


@dataclass(frozen=True)
class PlacedSegment:
    """The part of a layer on one crossbar: ``rows[i]`` carries logical input i, ``cols[k]`` logical output
    (crossbar-map column) ``outputs[k]``."""

    crossbar: str
    rows: tuple[int, ...]
    cols: tuple[int, ...]
    outputs: tuple[int, ...]


@dataclass
class ChipLines:
    """Placement, wires and background conductances of the chip a network runs on."""

    layers: dict[str, list[PlacedSegment]]
    wires: dict[str, LineResistance]
    background: dict[str, npt.NDArray[np.float64]]  # crossbar -> every cell as last read, S
    iterations: int | None = None  # None: as many as the coupling asks for
    _bg: dict[str, Tensor] = field(default_factory=dict, repr=False)

    def check(self) -> None:
        """Every segment's crossbar has wires and a background map that its lines fit."""
        for name, segs in self.layers.items():
            for s in segs:
                if s.crossbar not in self.wires or s.crossbar not in self.background:
                    raise ConfigError.invalid(f"chip.{name}.crossbar", s.crossbar,
                                              ", ".join(sorted(set(self.wires) & set(self.background))))
                rows, cols = self.background[s.crossbar].shape
                if max(s.rows) >= rows or max(s.cols) >= cols or len(s.cols) != len(s.outputs):
                    raise ConfigError.invalid(f"chip.{name}.lines", (max(s.rows), max(s.cols)),
                                              f"rows < {rows}, cols < {cols}, one output per column")

    def _driven(self) -> Iterator[tuple[PlacedSegment, tuple[int, ...], Tensor, int]]:
        """Per segment: its driven rows (ascending), their background conductances (float64) and the array's
        rows: the lines the model solves for it (the rows it does not drive are grounded and left out)."""
        for segs in self.layers.values():
            for s in segs:
                if s.crossbar in self.wires and s.crossbar in self.background:
                    bg = self.background[s.crossbar]
                    rows = tuple(sorted(s.rows))
                    yield s, rows, torch.as_tensor(np.nan_to_num(bg[list(rows)]), dtype=torch.float64), bg.shape[0]

    def worst_coupling(self) -> float:
        """:func:`~labctl.train.ir_drop.coupling` of the worst segment's driven rows over the background, the lines
        the model solves (< 1: it converges)."""
        return max((coupling(g, self.wires[s.crossbar], n_rows=n) for s, _r, g, n in self._driven()), default=0.0)

    def converges(self, tol: float = 1e-3) -> bool:
        """Whether the model's fixed point settles on every segment's driven rows over the background: with every
        row at 1 V, 16 steps (what :func:`~labctl.train.ir_drop.ir_column_currents` takes at a high coupling)
        agree with 64 to ``tol`` of the largest column current. The coupling bound is loose (the measured
        realistic chip converges to 1e-5 in 16 steps at a coupling of 0.94)."""
        for s, rows, g, n in self._driven():
            v = torch.ones((1, len(rows)), dtype=torch.float64)
            ref = ir_column_currents(v, g, self.wires[s.crossbar], 64, rows=rows, n_rows=n)
            got = ir_column_currents(v, g, self.wires[s.crossbar], 16, rows=rows, n_rows=n)
            scale = float(ref.abs().max())
            if not (torch.isfinite(got).all() and float((got - ref).abs().max()) <= tol * max(scale, 1e-30)):
                return False
        return True

    def currents(self, name: str, v: Tensor, g_map: Tensor) -> Tensor:
        """Column currents ``(batch, map columns)`` of layer ``name``: logical row voltages ``v`` (batch, n_in)
        over its logical crossbar map ``g_map`` (n_in, map columns), solved on the physical arrays."""
        out = v.new_zeros((v.shape[0], g_map.shape[1]))
        for s in self.layers[name]:
            bg = self._bg.get(s.crossbar)
            if bg is None or bg.dtype != g_map.dtype:
                bg = self._bg[s.crossbar] = torch.as_tensor(np.nan_to_num(self.background[s.crossbar]),
                                                            dtype=g_map.dtype)
            # only the driven rows, in physical order (ir_column_currents sums the wire between them)
            order = sorted(range(len(s.rows)), key=lambda i: s.rows[i])
            phys = tuple(s.rows[i] for i in order)
            idx = torch.as_tensor(order)
            cols = torch.as_tensor(s.cols)
            outs = torch.as_tensor(s.outputs)
            g = bg[list(phys)].index_put((torch.arange(len(phys))[:, None], cols[None, :]), g_map[idx][:, outs])
            i = ir_column_currents(v[:, idx], g, self.wires[s.crossbar], self.iterations, rows=phys,
                                   n_rows=int(bg.shape[0]))[:, cols]
            out = out.index_copy(1, outs, i)
        return out


class WiredNet(SoftBinaryNet):
    """:class:`SoftBinaryNet` on the chip's lines (see the module docstring); ``lines`` None = the base network."""

    lines: ChipLines | None = None

    @classmethod
    def wrap(cls, model: SoftBinaryNet, lines: ChipLines) -> WiredNet:
        """A copy of ``model`` (same weights and training switches) that runs on ``lines``."""
        lines.check()
        net = cls(**model.config())
        net.load_state_dict(model.state_dict())
        net.hard, net.g_noise, net.dropout = model.hard, model.g_noise, model.dropout
        net.amp_gains = None if model.amp_gains is None else [g.clone() for g in model.amp_gains]
        net.lines = lines
        return net

    def _map(self, g: Tensor) -> Tensor:
        """torch (out, in) or (2, out, in) -> the crossbar map (in, out) or (in, 2 out) interleaved."""
        if g.dim() == 2:
            return g.T
        return torch.stack([g[0].T, g[1].T], dim=2).reshape(g.shape[2], 2 * g.shape[1])

    def _product(self, name: str, v: Tensor, g: Tensor) -> Tensor:
        """A placed layer's column currents through the chip's lines; any other layer as the base network's."""
        if self.lines is None or name not in self.lines.layers:
            return super()._product(name, v, g)
        i = self.lines.currents(name, v, self._map(g))
        return i[:, 0::2] - i[:, 1::2] if g.dim() == 3 else i
