"""Check 1: every instrument answers, is the model its driver is written for, and is clean after reset."""

from __future__ import annotations

import asyncio

from labctl.bench import Bench, build_driver
from labctl.core.errors import InstrumentReportedError
from labctl.hil._context import HilContext
from labctl.hil._result import CheckResult, Status

TITLE = "Instruments answer and are the configured models"


async def check_identity(ctx: HilContext) -> CheckResult:
    cfg = ctx.config
    evidence: list[str] = []
    problems: list[str] = []
    for name, inst in cfg.instruments.items():
        try:
            drv = await asyncio.to_thread(build_driver, name, cfg, log=ctx.log_message)
        except Exception as exc:
            problems.append(f"{name}: cannot open {inst.resource} ({exc}); check the cable, the instrument's "
                            "interface settings and the resource string")
            continue
        ctx.drivers[name] = drv
        try:
            idn = await drv.identify()
        except Exception as exc:
            problems.append(f"{name}: no answer to *IDN? at {inst.resource} ({exc}); check power, cable and "
                            "the resource string")
            continue
        evidence.append(f"{name} ({inst.driver} at {inst.resource}): {idn}")
        wrong = drv.identity_problem(idn)
        if wrong:
            problems.append(f"{wrong}; check which instrument answers at {inst.resource}")
    if problems:
        return CheckResult("identity", TITLE, Status.FAIL, problems[0], evidence + problems)
    for name, drv in ctx.drivers.items():
        try:
            await drv.configure()  # the driver's reset: modes selected and verified, outputs off, relays open
        except InstrumentReportedError as exc:  # a setting the instrument refused: check 2 names it
            ctx.configure_errors[name] = str(exc)
            evidence.append(f"{name}: refused part of its configuration: {exc}")
            continue
        except Exception as exc:
            problems.append(f"{name}: configuring failed: {exc}")
            continue
        errors = await drv.errors()
        if errors:
            problems.append(f"{name}: error queue not empty after reset: {'; '.join(errors)}")
        else:
            evidence.append(f"{name}: configured, error queue empty")
    if problems:
        return CheckResult("identity", TITLE, Status.FAIL, problems[0], evidence + problems)
    ctx.bench = Bench(cfg, ctx.drivers, None)
    return CheckResult("identity", TITLE, Status.PASS, f"{len(ctx.drivers)} instruments answer as configured",
                       evidence, {"idn": {n: d.idn for n, d in ctx.drivers.items()}})
