"""The ordered checks and the rule that stops them: a failure that makes the rest unsafe skips the rest."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from labctl.core.config import BenchConfig, load_bench_config
from labctl.core.errors import ConfigError
from labctl.hil._area import MAP_TITLE, PROGRAM_TITLE, check_map_read, check_program
from labctl.hil._context import HilContext
from labctl.hil._identity import TITLE as IDENTITY_TITLE
from labctl.hil._identity import check_identity
from labctl.hil._limits import TITLE as LIMITS_TITLE
from labctl.hil._limits import check_limits
from labctl.hil._result import CheckResult, HilReport, Status
from labctl.hil._routing import TITLE as ROUTING_TITLE
from labctl.hil._routing import check_routing
from labctl.hil._safe_state import TITLE as SAFE_TITLE
from labctl.hil._safe_state import check_safe_state

Check = Callable[[HilContext], Awaitable[CheckResult]]

#: (key, title, check, a failure makes every later check unsafe)
CHECKS: tuple[tuple[str, str, Check, bool], ...] = (
    ("identity", IDENTITY_TITLE, check_identity, True),
    ("limits", LIMITS_TITLE, check_limits, True),
    ("routing", ROUTING_TITLE, check_routing, True),
    ("safe_state", SAFE_TITLE, check_safe_state, True),
    ("map_read", MAP_TITLE, check_map_read, True),
    ("program", PROGRAM_TITLE, check_program, False),
)
CHECK_KEYS = tuple(c[0] for c in CHECKS)


def _config(bench: BenchConfig | str | Path) -> BenchConfig:
    cfg = bench if isinstance(bench, BenchConfig) else load_bench_config(bench)
    if cfg.simulated:
        raise ConfigError.invalid("bench", cfg.name, "a bench without a 'sim' section (hil checks instruments by "
                                  "their resource strings; serve a simulated bench with 'labctl sim serve')")
    return cfg


async def run_hil(bench: BenchConfig | str | Path, *, crossbar: str | None = None, allow_program: bool = False,
                  out: Path | None = None, on_result: Callable[[CheckResult], None] | None = None) -> HilReport:
    """Run the checks in order on a real bench (or a served simulated one); never raises for a failed check."""
    cfg = _config(bench)
    xname = crossbar or next(iter(cfg.crossbars))
    if xname not in cfg.crossbars:
        raise ConfigError.invalid("crossbar", xname, ", ".join(cfg.crossbars))
    ctx = HilContext(cfg, xname, allow_program, out)
    report = HilReport(cfg.name, xname, datetime.now(UTC).isoformat(timespec="seconds"), allow_program)
    stopped: str | None = None
    try:
        for key, title, check, gate in CHECKS:
            if stopped is not None:
                result = CheckResult(key, title, Status.SKIP, f"not run: {stopped} failed, so it is not safe")
            else:
                t0 = time.monotonic()
                try:
                    result = await check(ctx)
                except Exception as exc:
                    result = CheckResult(key, title, Status.FAIL, f"{type(exc).__name__}: {exc}")
                result.seconds = time.monotonic() - t0
                if result.status == Status.FAIL and gate:
                    stopped = key
            report.results.append(result)
            if on_result is not None:
                on_result(result)
    finally:
        await ctx.close()
    return report
