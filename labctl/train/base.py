"""The common shape of a crossbar model, the model registry and the model directory format.

A model directory holds ``model.json`` (``kind``, constructor ``config``, free-form ``info`` such as the recipe,
data set, seed and accuracies) and ``model.pt`` (the torch ``state_dict``). :func:`load_model` rebuilds it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor, nn

from labctl.core.errors import ConfigError
from labctl.train.mapping import ConductanceWindow
from labctl.train.targets import TargetMap

_REGISTRY: dict[str, type[CrossbarModel]] = {}


class CrossbarModel(nn.Module):
    """A network whose layers are crossbars. Subclasses set ``kind`` and implement the abstract methods."""

    kind: ClassVar[str] = ""
    sizes: list[int]
    _window: ConductanceWindow

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if cls.kind:
            _REGISTRY[cls.kind] = cls

    def config(self) -> dict[str, Any]:
        """Constructor keyword arguments (JSON-serialisable)."""
        raise NotImplementedError

    def _set_layout(self, sizes: tuple[int, ...] | list[int], g_off: float, g_on: float, read_voltage: float) -> None:
        """Check and keep the layer ``sizes`` (inputs, hidden..., outputs) and the conductance window."""
        if len(sizes) < 2:
            raise ConfigError.invalid("sizes", sizes, "at least (inputs, outputs)")
        self.sizes = [int(s) for s in sizes]
        self._window = ConductanceWindow(g_off, g_on, read_voltage)

    @property
    def window(self) -> ConductanceWindow:
        return self._window

    def layer_names(self) -> list[str]:
        return [f"fc{i + 1}" for i in range(len(self.sizes) - 1)]

    def target_maps(self, window: ConductanceWindow | None = None) -> dict[str, TargetMap]:
        """Per-layer conductance targets (crossbar convention: rows = inputs)."""
        raise NotImplementedError

    def forward_hw(
        self, x: Tensor, conductances: dict[str, npt.NDArray[np.float64]] | None = None
    ) -> Tensor:
        """The ideal-crossbar forward (programmed targets), or with some layers' maps replaced (measured)."""
        raise NotImplementedError

    def layer_outputs(self, x: Tensor) -> list[Tensor]:
        """Every layer's output on the ideal crossbar (for offline-vs-bench comparisons)."""
        raise NotImplementedError


def save_model(model: CrossbarModel, directory: str | Path, info: dict[str, Any] | None = None) -> Path:
    """Write ``model.json`` and ``model.pt`` into ``directory``."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), d / "model.pt")
    meta = {"kind": model.kind, "config": model.config(), "info": info or {}}
    (d / "model.json").write_text(json.dumps(meta, indent=1, default=float))
    return d


def read_info(directory: str | Path) -> dict[str, Any]:
    meta: dict[str, Any] = json.loads((Path(directory) / "model.json").read_text())
    info: dict[str, Any] = meta.get("info", {})
    return info


def load_model(directory: str | Path) -> CrossbarModel:
    """Rebuild a model saved by :func:`save_model`."""
    d = Path(directory)
    if not (d / "model.json").exists():
        raise ConfigError.invalid("model dir", str(d), "a directory written by labctl train (model.json, model.pt)")
    meta = json.loads((d / "model.json").read_text())
    cls = _REGISTRY.get(meta["kind"])
    if cls is None:
        raise ConfigError.invalid("model.json:kind", meta["kind"], ", ".join(sorted(_REGISTRY)))
    model = cls(**meta["config"])
    model.load_state_dict(torch.load(d / "model.pt", weights_only=True))
    model.eval()
    return model


def accuracy(logits: Tensor, y: Tensor) -> float:
    """Fraction of correct argmax predictions (0..1)."""
    return float((logits.argmax(dim=1) == y).float().mean().item())
