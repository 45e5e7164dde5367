"""Check 3: each wired matrix input reaches its crossbar lines (continuity at the read voltage through the array),
no output ever has two inputs closed, and every relay is open afterwards."""

from __future__ import annotations

from typing import Any

from labctl.core.errors import InstrumentError
from labctl.hil._context import HilContext
from labctl.hil._result import CheckResult, Status

TITLE = "Routing: every line reaches the array, one source per line, relays open after"
SAMPLE_COLS = 8


def _two_sources(closed: frozenset[tuple[int, int]]) -> list[int]:
    seen: dict[int, int] = {}
    bad = []
    for inp, out in sorted(closed):
        if out in seen and seen[out] != inp:
            bad.append(out)
        seen[out] = inp
    return bad


def _feed(w: Any) -> str:
    return "ground" if w.source is None else f"{w.source[0]} ch{w.source[1]}"


def _outputs(w: Any, outs: list[int]) -> str:
    """Wiring outputs as each mainframe numbers them (``matrix0b output 17``)."""
    return ", ".join("{} output {}".format(*w.local(o)) for o in outs)


async def check_routing(ctx: HilContext) -> CheckResult:
    assert ctx.bench is not None
    xb = ctx.bench.crossbars[ctx.crossbar]
    w = xb.wiring
    mats = [(n, ctx.bench.matrix(n)) for n in w.matrix_names]
    label = " + ".join(w.matrix_names)

    async def doubled_now() -> set[str]:
        return {f"{n} output {o}" for n, m in mats for o in _two_sources(await m.closed())}

    v, floor = ctx.read_voltage, ctx.hil.continuity_min_current
    evidence = [f"{ctx.crossbar}: drive = {label} input {w.drive.input} ({_feed(w.drive)}), sense = input "
                f"{w.sense.input} ({_feed(w.sense)}); read at {v:g} V, continuity floor {floor:g} A"]
    problems: list[str] = []
    doubled: set[str] = set()
    try:
        col_i = await xb.infer([v] * xb.rows)
        doubled |= await doubled_now()
        dead_cols = [c for c, i in enumerate(col_i) if not abs(i) >= floor]
        step = max(1, xb.cols // SAMPLE_COLS)
        sample = list(range(0, xb.cols, step))[:SAMPLE_COLS]
        dead_rows = []
        for r in range(xb.rows):
            volts = [0.0] * xb.rows
            volts[r] = v
            total = sum(abs(i) for i in await xb.infer(volts, sample))
            if not total >= floor:
                dead_rows.append(r)
            doubled |= await doubled_now()
    except InstrumentError as exc:
        return CheckResult("routing", TITLE, Status.FAIL, f"{exc}; service the matrix before using the bench",
                           [*evidence, str(exc)])
    finally:
        await ctx.bench.safe_state(reason="hil routing check done")
    left = [f"{n} {p}" for n, m in mats for p in sorted(await m.closed())]
    evidence.append(f"column currents with every row at {v:g} V: min {min(map(abs, col_i)):.3g} A, "
                    f"max {max(map(abs, col_i)):.3g} A")
    if len(dead_rows) == xb.rows and len(dead_cols) == xb.cols:
        problems.append(f"{ctx.crossbar}: no current through any line: the drive input ({label} input "
                        f"{w.drive.input} <- {_feed(w.drive)}) or the sense input (input {w.sense.input} <- "
                        f"{_feed(w.sense)}) is not wired as the config says; check those cables")
    else:
        if dead_rows:
            outs = _outputs(w, [w.row_out(r) for r in dead_rows[:8]])
            problems.append(f"{ctx.crossbar}: rows {dead_rows[:8]} carry less than {floor:g} A ({outs}); check the "
                            "cables from those outputs to the array's row pads")
        if dead_cols:
            outs = _outputs(w, [w.col_out(c) for c in dead_cols[:8]])
            problems.append(f"{ctx.crossbar}: columns {dead_cols[:8]} carry less than {floor:g} A ({outs}); check "
                            "the cables from those outputs to the column pads")
    if doubled:
        problems.append(f"{label}: {sorted(doubled)[:8]} had two inputs closed at once")
    if left:
        problems.append(f"{label}: relays {left[:8]} still closed after opening all; a relay is stuck")
    else:
        evidence.append(f"{label}: every relay open afterwards")
    data = {"dead_rows": dead_rows, "dead_cols": dead_cols}
    if problems:
        return CheckResult("routing", TITLE, Status.FAIL, problems[0], evidence + problems, data)
    return CheckResult("routing", TITLE, Status.PASS,
                       f"{xb.rows} rows and {xb.cols} columns conduct; relays open after", evidence, data)
