"""Rectangular regions of an array that protocols share."""

from __future__ import annotations

from labctl.core.access import CrossbarAccess
from labctl.core.errors import ConfigError


def region_bounds(region: tuple[int, int, int, int] | None, access: CrossbarAccess) -> tuple[int, int, int, int]:
    """(row0, row1, col0, col1), half-open, checked against the array; the whole array when None."""
    if region is None:
        return 0, access.rows, 0, access.cols
    r0, r1, c0, c1 = region
    if not (0 <= r0 < r1 <= access.rows and 0 <= c0 < c1 <= access.cols):
        raise ConfigError.invalid(
            "region", region, f"(row0, row1, col0, col1) with 0 <= row0 < row1 <= {access.rows}, "
            f"0 <= col0 < col1 <= {access.cols}"
        )
    return r0, r1, c0, c1

