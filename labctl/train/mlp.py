"""A crossbar MLP on differential pairs, with memristor-aware noise (seed 002) and chip-in-the-loop masks.

Each layer stores its devices, not its weights: ``p`` of shape ``(2, out, in)`` holds the normalised
conductances ``(G - g_off)/(g_on - g_off)`` in ``[0, 1]`` of ``G+`` and ``G-``; the weight is ``p[0] - p[1]``
(so ``w_max = 1`` and ``k = g_on - g_off``, see :func:`labctl.train.mapping.differential_to_conductance`).
Biases are digital. Physical forward of one layer (matches :mod:`labctl.train.crossbar`):
``V = v_read x`` (inputs/activations in ``[0, 1]``), ``I = V (G+ - G-)``, ``y = I/(v_read k) + b``; hidden layers
use ``relu1 = clip(y, 0, 1)`` (the amplifier swing), the last layer is linear (logits).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from labctl.train.base import CrossbarModel
from labctl.train.layers import noisy_ste, round_ste
from labctl.train.mapping import SEED_WINDOW, ConductanceWindow
from labctl.train.targets import TargetMap


class CrossbarMLP(CrossbarModel):
    """Differential-pair MLP. Knobs: ``noise_sd`` (seed 002, relative to ``2 max|w|``), ``levels`` (quantized
    conductances, STE), a fitted per-level ``noise_model`` and per-device ``frozen`` masks (chip in the loop)."""

    kind = "crossbar-mlp"

    def __init__(
        self,
        sizes: tuple[int, ...] | list[int] = (64, 64, 10),
        g_off: float = SEED_WINDOW.g_off,
        g_on: float = SEED_WINDOW.g_on,
        v_read: float = 0.1,
        levels: int | None = None,
    ) -> None:
        super().__init__()
        self._set_layout(sizes, g_off, g_on, v_read)
        self.v_read = float(v_read)
        self.levels = levels
        self.p = nn.ParameterList()
        self.b = nn.ParameterList()
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:], strict=True):
            w = torch.empty(n_out, n_in)
            nn.init.kaiming_uniform_(w, a=5**0.5)
            w = (w * 2.0).clamp(-1, 1)
            self.p.append(nn.Parameter(torch.stack([w.clamp(min=0), (-w).clamp(min=0)])))
            self.b.append(nn.Parameter(torch.zeros(n_out)))
        self.noise_sd = 0.0
        self.noise_model: Any = None  # a labctl.train.retrain.NoiseModel, applied while training
        self.frozen: list[Tensor | None] = [None] * len(self.p)  # True = device fixed (stuck/failed)

    def config(self) -> dict[str, Any]:
        return {"sizes": self.sizes, "g_off": self._window.g_off, "g_on": self._window.g_on,
                "v_read": self.v_read, "levels": self.levels}

    def clamp_(self) -> None:
        """Keep devices inside the window (call after each optimiser step)."""
        with torch.no_grad():
            for p in self.p:
                p.clamp_(0.0, 1.0)

    def _devices(self, k: int, p: Tensor) -> Tensor:
        if self.levels is not None:
            p = round_ste(p * (self.levels - 1)) / (self.levels - 1)
        if self.training and self.noise_model is not None:
            p = self.noise_model.perturb(self.layer_names()[k], p)
        return p

    def _run(self, x: Tensor, ps: list[Tensor], keep: bool = False) -> tuple[Tensor, list[Tensor]]:
        h = x.reshape(x.shape[0], -1)
        outs: list[Tensor] = []
        for k, (p, b) in enumerate(zip(ps, self.b, strict=True)):
            w = p[0] - p[1]
            if self.training and self.noise_sd > 0:
                w = noisy_ste(w, self.noise_sd)
            h = F.linear(h, w, b)
            if k < len(ps) - 1:
                h = torch.clamp(h, 0.0, 1.0)
            if keep:
                outs.append(h)
        return h, outs

    def forward(self, x: Tensor) -> Tensor:
        return self._run(x, [self._devices(k, p) for k, p in enumerate(self.p)])[0]

    def weights(self) -> list[Tensor]:
        return [(p[0] - p[1]).detach() for p in self.p]

    # --- maps ------------------------------------------------------------------------------------------------
    def _quantized(self, p: Tensor) -> Tensor:
        return torch.round(p * (self.levels - 1)) / (self.levels - 1) if self.levels is not None else p

    def to_map(self, p: Tensor, window: ConductanceWindow | None = None) -> npt.NDArray[np.float64]:
        wd = window or self._window
        a = self._quantized(p.detach()).double().numpy()
        m = np.empty((a.shape[2], 2 * a.shape[1]))
        m[:, 0::2], m[:, 1::2] = a[0].T, a[1].T
        return wd.g_off + wd.span * m

    def from_map(self, g: npt.NDArray[np.float64], window: ConductanceWindow | None = None) -> Tensor:
        wd = window or self._window
        t = torch.as_tensor((np.asarray(g) - wd.g_off) / wd.span, dtype=torch.float32)
        return torch.stack([t[:, 0::2].T, t[:, 1::2].T])

    def forward_hw(self, x: Tensor, conductances: dict[str, npt.NDArray[np.float64]] | None = None) -> Tensor:
        ps = []
        for name, p in zip(self.layer_names(), self.p, strict=True):
            if conductances is not None and name in conductances:
                ps.append(self.from_map(conductances[name]))
            else:
                ps.append(self._quantized(p.detach()))
        was = self.training
        self.eval()
        out = self._run(x, ps)[0]
        self.train(was)
        return out

    def layer_outputs(self, x: Tensor) -> list[Tensor]:
        return self._run(x, [self._quantized(p.detach()) for p in self.p], keep=True)[1]

    def periphery(self, k: int, window: ConductanceWindow | None = None) -> dict[str, Any]:
        wd = window or self._window
        last = k == len(self.p) - 1
        return {"columns": "interleaved_pairs",
                "input": {"v_per_unit": self.v_read, "offset": 0.0, "clamp": self.v_read},
                "output": {"kind": "linear", "gain": 1.0 / (self.v_read * wd.span),
                           "bias": [float(v) for v in self.b[k].detach()], "clamp": None,
                           "activation": "none" if last else "relu1"}}

    def target_maps(self, window: ConductanceWindow | None = None) -> dict[str, TargetMap]:
        wd = window or self._window
        mapping = "differential" if self.levels is None else "quantized"
        return {name: TargetMap(name, self.to_map(p, wd), mapping, wd, columns="interleaved_pairs",
                                periphery=self.periphery(k, wd))
                for k, (name, p) in enumerate(zip(self.layer_names(), self.p, strict=True))}


def fit_mlp(
    model: CrossbarMLP,
    x: npt.NDArray[np.float32],
    y: npt.NDArray[np.int64],
    *,
    epochs: int = 60,
    lr: float = 3e-3,
    batch: int = 64,
    seed: int = 0,
    progress: Any = None,
) -> CrossbarMLP:
    """Adam on the device parameters; free devices stay inside the window; frozen devices (``model.frozen``) get
    no update and keep exactly what they hold, even outside the window (a stuck cell reads what it reads)."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    held = [p.detach()[m].clone() if m is not None else None for p, m in zip(model.p, model.frozen, strict=True)]
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for i in range(0, len(xt), batch):
            idx = perm[i:i + batch]
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            for p, m in zip(model.p, model.frozen, strict=True):
                if m is not None and p.grad is not None:
                    p.grad[m] = 0.0
            opt.step()
            with torch.no_grad():
                for p, m, v in zip(model.p, model.frozen, held, strict=True):
                    if m is None or v is None:
                        p.clamp_(0.0, 1.0)
                    else:
                        p.copy_(torch.where(m, p, p.clamp(0.0, 1.0)))
                        p[m] = v
            total += float(loss.detach()) * len(idx)
        if progress is not None:
            progress(epoch + 1, epochs, {"loss": total / len(xt)})
    model.eval()
    return model
