"""Encoding of arrays and JSON-able values for the journal (numpy arrays as NPZ blobs / JSON lists)."""

from __future__ import annotations

import io
import json
import math
from typing import Any

import numpy as np


def _default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (tuple, set, frozenset)):
        return list(obj)
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    return str(obj)


def _finite(obj: Any) -> Any:
    """NaN/inf are not JSON; store them as None."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


def dumps(obj: Any) -> str:
    """JSON text of ``obj``; arrays become lists, non-finite floats become null."""
    plain = json.loads(json.dumps(obj, default=_default))
    return json.dumps(_finite(plain), allow_nan=False, sort_keys=True)


def pack_arrays(arrays: dict[str, Any]) -> bytes:
    """NPZ bytes of a dict of arrays (string arrays stored as unicode, no pickles)."""
    buf = io.BytesIO()
    clean = {k: np.asarray(v) for k, v in arrays.items() if v is not None}
    for k, v in clean.items():
        if v.dtype == object:
            clean[k] = v.astype(str)
    np.savez_compressed(buf, **clean)  # type: ignore[arg-type]
    return buf.getvalue()


def unpack_arrays(blob: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}
