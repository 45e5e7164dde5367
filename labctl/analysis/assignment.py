"""Minimum-cost assignment (the Hungarian method with potentials), NumPy only.

:func:`assign` matches every row of an ``n x m`` cost matrix (``n <= m``) to a distinct column so that the total
cost is least (Kuhn-Munkres with row/column potentials and shortest augmenting paths, O(n^2 m); the inner scans
over the columns are vectorised). Placement uses it to map logical inputs/outputs to physical lines.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from labctl.core.errors import ConfigError


def assign(cost: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """For each row of ``cost`` (n x m, n <= m, finite) the column it gets; the sum of the chosen costs is least."""
    c = np.asarray(cost, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] > c.shape[1]:
        raise ConfigError.invalid("cost", f"shape {c.shape}", "a 2-D matrix with rows <= columns")
    if not np.isfinite(c).all():
        raise ConfigError.invalid("cost", "non-finite entries", "finite costs")
    n, m = c.shape
    u = np.zeros(n + 1)
    v = np.zeros(m + 1)
    p = np.zeros(m + 1, dtype=np.int64)  # p[j]: the row (1-based) holding column j, 0 = free
    way = np.zeros(m + 1, dtype=np.int64)
    for i in range(1, n + 1):
        p[0] = i
        j0 = 0
        minv = np.full(m + 1, np.inf)
        used = np.zeros(m + 1, dtype=bool)
        while True:
            used[j0] = True
            i0 = p[j0]
            cur = c[i0 - 1] - u[i0] - v[1:]
            free = ~used[1:]
            better = free & (cur < minv[1:])
            minv[1:][better] = cur[better]
            way[1:][better] = j0
            cand = np.where(free, minv[1:], np.inf)
            j1 = int(np.argmin(cand)) + 1
            delta = cand[j1 - 1]
            u[p[used]] += delta
            v[used] -= delta
            minv[~used] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while j0:
            j1 = int(way[j0])
            p[j0] = p[j1]
            j0 = j1
    out = np.full(n, -1, dtype=np.int64)
    for j in range(1, m + 1):
        if p[j]:
            out[p[j] - 1] = j - 1
    return out
