"""Check 2: every configured limit is enforced by labctl before anything is sent, and each source's own current
limit is set to the configured compliance (read back from the instrument)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from labctl.core.errors import LimitError
from labctl.hil._context import HilContext
from labctl.hil._result import CheckResult, Status

TITLE = "Limits refused before sending; source limits read back"


async def _refused(ctx: HilContext, name: str, what: str, call: Callable[[], Awaitable[Any]]) -> str | None:
    """None when ``call`` raises ``LimitError`` with nothing sent to ``name``; else the problem."""
    before = ctx.sent_to(name)
    try:
        await call()
    except LimitError:
        sent = ctx.sent_to(name) - before
        return None if sent == 0 else f"{name}: {what} was refused only after {sent} message(s) were sent"
    return f"{name}: {what} was NOT refused by labctl; the limit is not enforced in the driver"


async def check_limits(ctx: HilContext) -> CheckResult:
    lim = ctx.config.limits
    evidence: list[str] = []
    problems: list[str] = []
    small = min(lim.read_clamp / 2, 0.05)
    for name, smu in ctx.sources().items():
        src = smu.limits
        for ch in range(1, smu.channels + 1):
            cases: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
                (f"ch{ch} source level {src.max_voltage * 1.001 + 1e-3:g} V (limit {src.max_voltage:g} V)",
                 partial(smu.set_voltage, src.max_voltage * 1.001 + 1e-3, ch)),
                (f"ch{ch} compliance {src.compliance * 1.001:g} A (limit {src.compliance:g} A)",
                 partial(smu.set_compliance, src.compliance * 1.001, ch)),
                (f"ch{ch} read at {lim.read_clamp * 1.001 + 1e-4:g} V (read clamp {lim.read_clamp:g} V)",
                 partial(smu.read, lim.read_clamp * 1.001 + 1e-4, ch)),
                (f"ch{ch} pulse of {lim.min_pulse_width / 2:g} s (shortest {lim.min_pulse_width:g} s)",
                 partial(smu.pulse, small, lim.min_pulse_width / 2, ch)),
                (f"ch{ch} pulse of {lim.max_pulse_width * 2:g} s (longest {lim.max_pulse_width:g} s)",
                 partial(smu.pulse, small, lim.max_pulse_width * 2, ch)),
            ]
            for what, call in cases:
                problem = await _refused(ctx, name, what, call)
                if problem:
                    problems.append(problem)
                else:
                    evidence.append(f"{name}: {what}: refused, nothing sent")
            want = smu.compliance.get(ch, src.compliance)
            got = await smu.source_limit(ch)
            if abs(got - want) > 1e-6 * abs(want) + 1e-12:
                refused = ctx.configure_errors.get(name)
                why = f" (it reported: {refused})" if refused else ""
                problems.append(f"{name}: ch{ch} current limit reads back {got:g} A but the config asks {want:g} A"
                                f"{why}; the instrument does not accept it: set instruments.{name}.limits.compliance "
                                "to a value its current range supports")
            else:
                evidence.append(f"{name}: ch{ch} current limit reads back {got:g} A as configured")
    if ctx.bench is not None:
        xb = ctx.bench.crossbars[ctx.crossbar]
        before = sum(ctx.sent.values())
        try:
            await xb.read(0, [0], lim.read_clamp * 1.001 + 1e-4)
            problems.append(f"{ctx.crossbar}: a read above the read clamp was NOT refused")
        except LimitError:
            if sum(ctx.sent.values()) != before:
                problems.append(f"{ctx.crossbar}: a read above the clamp was refused only after sending")
            else:
                evidence.append(f"{ctx.crossbar}: cell read above the clamp refused, nothing sent")
    for name, err in ctx.configure_errors.items():
        if not any(p.startswith(f"{name}:") for p in problems):
            problems.append(f"{name}: refused part of its configuration: {err}")
    if problems:
        return CheckResult("limits", TITLE, Status.FAIL, problems[0], evidence + problems)
    return CheckResult("limits", TITLE, Status.PASS,
                       f"{len(evidence)} limit checks on {len(ctx.sources())} sources", evidence)
