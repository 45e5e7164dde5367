"""Array backends: the same physics code runs on NumPy arrays or PyTorch tensors (CPU or CUDA).

Only what the kernels need is wrapped. torch is imported lazily, only when the torch backend is chosen.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from labctl.core.errors import ConfigError

Array = Any  # np.ndarray or torch.Tensor; the kernels are written against this small surface

BACKENDS = ("numpy", "torch")


class NumpyBackend:
    """float64 NumPy."""

    name = "numpy"
    device = "cpu"

    def asarray(self, x: Any) -> Array:
        return np.asarray(x, dtype=np.float64)

    def to_numpy(self, x: Array) -> np.ndarray[Any, Any]:
        return np.asarray(x)

    def zeros(self, n: int) -> Array:
        return np.zeros(n)

    def full(self, n: int, value: float) -> Array:
        return np.full(n, value, dtype=np.float64)

    def index(self, idx: Any) -> Array:
        return np.asarray(idx, dtype=np.intp)

    def flatnonzero(self, mask: Array) -> Array:
        return np.flatnonzero(mask)

    def arange(self, n: int) -> Array:
        return np.arange(n, dtype=np.float64)

    def iarange(self, n: int) -> Array:
        return np.arange(n, dtype=np.intp)

    def normal(self, rng: np.random.Generator, n: int) -> Array:
        return rng.standard_normal(n)

    def solve(self, a: Array, b: Array) -> Array:
        return np.linalg.solve(a, b)

    def any(self, mask: Array) -> bool:
        return bool(mask.any())

    def item(self, x: Array) -> float:
        return float(x)

    exp = staticmethod(np.exp)
    sinh = staticmethod(np.sinh)
    cosh = staticmethod(np.cosh)
    sqrt = staticmethod(np.sqrt)
    abs = staticmethod(np.abs)
    where = staticmethod(np.where)
    minimum = staticmethod(np.minimum)
    maximum = staticmethod(np.maximum)
    log = staticmethod(np.log)
    sign = staticmethod(np.sign)
    ceil = staticmethod(np.ceil)

    def clip(self, x: Array, lo: Any, hi: Any) -> Array:
        return np.minimum(np.maximum(x, lo), hi)

    def cumsum(self, x: Array, axis: int) -> Array:
        return np.cumsum(x, axis=axis)

    def sum(self, x: Array, axis: int) -> Array:
        return x.sum(axis=axis)

    def power(self, x: Array, p: float) -> Array:
        return np.power(x, p)


class TorchBackend:
    """float64 torch tensors on ``device`` ("cpu" or "cuda[:n]")."""

    name = "torch"

    def __init__(self, device: str = "cpu") -> None:
        import torch  # lazy: only when this backend is selected

        self.torch = torch
        try:
            self.dev = torch.device(device)
        except RuntimeError as exc:
            raise ConfigError.invalid("device", device, "'cpu' or 'cuda[:n]'") from exc
        if self.dev.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError.invalid("device", device, "'cpu' (no CUDA device is available here)")
        self.device = str(self.dev)
        t = torch
        self.exp, self.sinh, self.cosh, self.sqrt = t.exp, t.sinh, t.cosh, t.sqrt
        self.abs, self.log, self.sign = t.abs, t.log, t.sign
        self.ceil = t.ceil

    def asarray(self, x: Any) -> Array:
        return self.torch.as_tensor(np.asarray(x) if not self.torch.is_tensor(x) else x,
                                    dtype=self.torch.float64, device=self.dev)

    def to_numpy(self, x: Array) -> np.ndarray[Any, Any]:
        return x.detach().cpu().numpy() if self.torch.is_tensor(x) else np.asarray(x)

    def zeros(self, n: int) -> Array:
        return self.torch.zeros(n, dtype=self.torch.float64, device=self.dev)

    def full(self, n: int, value: float) -> Array:
        return self.torch.full((n,), value, dtype=self.torch.float64, device=self.dev)

    def index(self, idx: Any) -> Array:
        return self.torch.as_tensor(idx, dtype=self.torch.long, device=self.dev)

    def flatnonzero(self, mask: Array) -> Array:
        return self.torch.nonzero(mask).flatten()

    def arange(self, n: int) -> Array:
        return self.torch.arange(n, dtype=self.torch.float64, device=self.dev)

    def iarange(self, n: int) -> Array:
        return self.torch.arange(n, dtype=self.torch.long, device=self.dev)

    def normal(self, rng: np.random.Generator, n: int) -> Array:
        # one seeded stream for both backends, so a seed means the same run everywhere
        return self.asarray(rng.standard_normal(n))

    def solve(self, a: Array, b: Array) -> Array:
        return self.torch.linalg.solve(a, b)

    def any(self, mask: Array) -> bool:
        return bool(mask.any().item())

    def item(self, x: Array) -> float:
        return float(x.item()) if self.torch.is_tensor(x) else float(x)

    def where(self, c: Array, a: Any, b: Any) -> Array:
        a, b = self._t(a), self._t(b)
        if a.dtype != b.dtype:
            a, b = a.to(self.torch.float64), b.to(self.torch.float64)
        return self.torch.where(c, a, b)

    def _t(self, x: Any) -> Array:
        t = self.torch
        return x if t.is_tensor(x) else t.as_tensor(x, dtype=t.float64, device=self.dev)

    def minimum(self, a: Any, b: Any) -> Array:
        a, b = self._t(a), self._t(b)
        if a.dtype != b.dtype:
            a, b = a.to(self.torch.float64), b.to(self.torch.float64)
        return self.torch.minimum(a, b)

    def maximum(self, a: Any, b: Any) -> Array:
        a, b = self._t(a), self._t(b)
        if a.dtype != b.dtype:
            a, b = a.to(self.torch.float64), b.to(self.torch.float64)
        return self.torch.maximum(a, b)

    def clip(self, x: Array, lo: Any, hi: Any) -> Array:
        return self.torch.minimum(self.torch.maximum(x, self._t(lo)), self._t(hi))

    def cumsum(self, x: Array, axis: int) -> Array:
        return self.torch.cumsum(x, dim=axis)

    def sum(self, x: Array, axis: int) -> Array:
        return x.sum(dim=axis)

    def power(self, x: Array, p: float) -> Array:
        return self.torch.pow(x, p)


def make_backend(name: str, device: str = "cpu") -> NumpyBackend | TorchBackend:
    """The backend called ``name`` ("numpy" or "torch")."""
    if name == "numpy":
        if device != "cpu":
            raise ConfigError.invalid("device", device, "'cpu' for the numpy backend")
        return NumpyBackend()
    if name == "torch":
        return TorchBackend(device)
    raise ConfigError.invalid("backend", name, ", ".join(repr(b) for b in BACKENDS))
