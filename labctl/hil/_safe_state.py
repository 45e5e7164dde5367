"""Check 4: an operation interrupted in the middle (cancelled, or cut by a deadline) leaves every output off and
every relay open, as the instruments themselves report."""

from __future__ import annotations

import asyncio
import contextlib

from labctl.hil._context import HilContext
from labctl.hil._result import CheckResult, Status

TITLE = "Safe state after an interrupted operation"


async def _state_problems(ctx: HilContext, when: str) -> list[str]:
    problems = []
    for name, smu in ctx.outputs().items():
        for ch in range(1, smu.channels + 1):
            if await smu.output_state(ch):
                problems.append(f"{name}: ch{ch} output still ON after {when}")
    for name, m in ctx.matrices().items():
        closed = await m.closed()
        if closed:
            problems.append(f"{name}: relays {sorted(closed)[:8]} still closed after {when}")
    return problems


async def check_safe_state(ctx: HilContext) -> CheckResult:
    assert ctx.bench is not None
    xb = ctx.bench.crossbars[ctx.crossbar]
    v = ctx.read_voltage
    evidence: list[str] = []
    problems: list[str] = []

    # (a) interrupt: cancel a full-array operation once it has done a few reads
    reads0 = xb.counts["read"]
    task = asyncio.create_task(xb.infer([v] * xb.rows))
    while not task.done() and xb.counts["read"] < reads0 + 2:  # noqa: ASYNC110 - the count has no event to wait on
        await asyncio.sleep(0.001)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    done = xb.counts["read"] - reads0
    evidence.append(f"interrupt: cancelled an inference after {done} of {xb.cols} column reads")
    problems += await _state_problems(ctx, "the interrupt")

    # (b) timeout: a deadline that expires in the middle of the same operation
    reads0 = xb.counts["read"]
    try:
        await asyncio.wait_for(xb.infer([v] * xb.rows), timeout=0.02)
        evidence.append("timeout: the operation finished inside the 20 ms deadline (nothing was cut)")
    except TimeoutError:
        evidence.append(f"timeout: 20 ms deadline cut an inference after {xb.counts['read'] - reads0} reads")
    problems += await _state_problems(ctx, "the timeout")
    if problems:
        return CheckResult("safe_state", TITLE, Status.FAIL, problems[0], evidence + problems)
    evidence.append("every output reports OFF and every relay open after both faults")
    return CheckResult("safe_state", TITLE, Status.PASS, "outputs off and relays open after interrupt and timeout",
                       evidence)
