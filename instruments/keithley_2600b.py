"""Keithley 2600B series two-channel SMU (2636B, 2602B; TSP): ``smua`` is channel 1, ``smub`` channel 2.

Commands are TSP (Lua) statements; a query is a statement that prints one line. Every reply is parsed strictly
(``print`` writes numbers as ``4.00000e+00``). Reads, pulses and a pulse with its verify read are one message each
(like the B2902 driver). A pulse is the source level held for the width by ``delay`` inside the message; the
2600B measures nothing during it, so its current is NaN.

Fast path (:meth:`Keithley2600B.write_verify`): labctl's write-verify script (``keithley_2600b_wv.lua``) is
loaded once as the named script ``labctl_wv``; one message then runs a cell's whole ISPP loop inside the
instrument and returns every pulse and read with the outcome. The script's amplitudes, widths and read voltage
are checked against the limits here before sending, and again by the script and the instrument's own source
limits while it runs. :meth:`Keithley2600B.write_verify_row` runs a batch of cells of one row in one message, the
script moving the 707B relays over TSP-Link; :meth:`Keithley2600B.write_verify_groups` programs several cells at
once, each on a column channel of a 2600B on the same TSP-Link network (parallel write-verify).
"""

from __future__ import annotations

import math
import re
from importlib import resources

from instruments._smu import SmuBase
from labctl.core.errors import ConfigError, InstrumentReportedError, LimitError, TransportError
from labctl.core.smu_limits import SMU_LIMITS
from labctl.core.writeverify import IsppSettings, WarmState

SCRIPT_NAME = "labctl_wv"
_CH = {1: "smua", 2: "smub"}


def _num(v: float) -> str:
    """A number exactly as Python holds it (the script compares readings with the same bounds)."""
    return repr(float(v))


def wv_script() -> str:
    """The write-verify script's Lua source."""
    return resources.files("instruments").joinpath("keithley_2600b_wv.lua").read_text()


GroupPlan = tuple[list[tuple[int, str]], list[tuple[float, str]]]
"""One group of parallel write-verify: its relay moves (TSP-Link node, closed list) and its cells (target, column
channel's TSP name)."""


def _bounds(s: IsppSettings, target: float) -> dict[str, str]:
    """A cell's tolerance band, ``lo`` and ``hi``, as the script's fields."""
    tol = s.abs_tol + s.rel_tol * target
    return {"lo": _num(target - tol), "hi": _num(target + tol)}


def _band(s: IsppSettings, target: float) -> str:
    """A cell's tolerance band as Lua table fields (``lo = ..., hi = ...``)."""
    return ", ".join(f"{k} = {v}" for k, v in _bounds(s, target).items())


def _warm_table(warm: WarmState | None) -> str:
    """The warm-start memory as a Lua table (nil without one)."""
    if warm is None:
        return "nil"
    resets = ", ".join(f'["{t!r}"] = {{{", ".join(_num(a) for a in amps)}}}' for t, amps in warm.reset.items())
    return (f"{{keep = {warm.keep}, back = {warm.back}, reset = {{{resets}}}, "
            f"set = {{{', '.join(_num(a) for a in warm.set)}}}}}")


class WvResult:
    """The parsed reply of one write-verify call."""

    def __init__(self, reply: str) -> None:
        try:
            head, pulses, reads = reply.strip().split(";")
            status, g, _n, pol, amp, over = head.split(",")
            p = [float(x) for x in pulses.split(",")] if pulses else []
            r = [float(x) for x in reads.split(",")] if reads else []
            if len(p) % 3 or len(r) % 2 or len(r) // 2 != len(p) // 3 + 1:
                raise ValueError("record counts do not match")
            self.status, self.g = status, float(g)
            self.pol, self.amp = int(float(pol)), float(amp)
            self.over_set = None if over == "nan" else float(over)
            self.pulses = [(p[k], p[k + 1], p[k + 2]) for k in range(0, len(p), 3)]
            self.reads = [(r[k], r[k + 1]) for k in range(0, len(r), 2)]
        except ValueError as exc:
            raise TransportError(f"garbled write-verify reply {reply[:2000]!r}: {exc}") from None
        if status not in ("converged", "failed", "stuck", "limit", "error"):
            raise TransportError(f"garbled write-verify reply: status {status!r}")


class Keithley2600B(SmuBase):
    channels = 2
    hardware = SMU_LIMITS["keithley_2600b"]
    idn_models = ("2636B", "2635B", "2634B", "2612B", "2602B", "2604B", "2614B")  # two-channel 2600B models

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.script_loaded = False

    def _ch(self, channel: int) -> str:
        self._check_channel(channel)
        return _CH[channel]

    async def _print(self, statement: str, *, safe: bool = True) -> float:
        """A statement that prints one number; the number."""
        return (await self._query_floats(statement, 1, safe=safe))[0]

    async def configure(self) -> None:
        await self.identify()
        c = _num(self.limits.compliance)
        parts = ["errorqueue.clear()", "format.asciiprecision = 7"]
        for s in _CH.values():
            parts += [f"{s}.reset()", f"{s}.source.func = {s}.OUTPUT_DCVOLTS", f"{s}.source.levelv = 0",
                      f"{s}.source.limiti = {c}", f"{s}.measure.nplc = 0.01",
                      f"{s}.measure.autozero = {s}.AUTOZERO_ONCE", f"{s}.source.output = {s}.OUTPUT_OFF"]
        await self._write(" ".join(parts))
        self._mark([1, 2], False)
        self.compliance = {1: self.limits.compliance, 2: self.limits.compliance}
        self.script_loaded = False
        await self.check_errors()

    async def errors(self) -> list[str]:
        """Drain the error queue (``errorqueue.count`` / ``errorqueue.next()``)."""
        out: list[str] = []
        count = int(await self._print("print(errorqueue.count)"))
        for _ in range(min(count, 20)):
            out.append((await self._query("print(errorqueue.next())")).replace("\t", " "))
        return out

    async def check_errors(self) -> None:
        errs = await self.errors()
        if errs:
            code = errs[0].split(" ", 1)[0]
            try:
                number: int | None = int(float(code))
            except ValueError:
                number = None
            raise InstrumentReportedError(f"{self.name} reported: {'; '.join(errs)}", code=number)

    async def sync(self) -> None:
        await self._query("waitcomplete() print(1)")

    # --- SourceMeasureUnit ----------------------------------------------------------------------------------
    async def set_compliance(self, amps: float, channel: int = 1) -> None:
        s = self._ch(channel)
        self.limits.check_compliance(amps)
        await self._write(f"{s}.source.limiti = {_num(amps)}")
        self.compliance[channel] = amps

    async def set_voltage(self, volts: float, channel: int = 1) -> None:
        s = self._ch(channel)
        self.limits.check_level(volts)
        await self._write(f"{s}.source.levelv = {_num(volts)}")

    async def output(self, on: bool, channel: int = 1) -> None:
        s = self._ch(channel)
        if on:
            self._mark([channel], True)
        await self._write(f"{s}.source.output = {s}.OUTPUT_{'ON' if on else 'OFF'}")
        if not on:
            self._mark([channel], False)

    async def source_limit(self, channel: int = 1) -> float:
        return await self._print(f"print({self._ch(channel)}.source.limiti)")

    async def output_state(self, channel: int = 1) -> bool:
        value = await self._print(f"print({self._ch(channel)}.source.output)")
        if value not in (0.0, 1.0, 2.0):
            raise TransportError(f"{self.name}: output state {value!r} is not 0, 1 or 2")
        return value == 1.0

    async def measure_current(self, channel: int = 1) -> float:
        return await self._print(f"print({self._ch(channel)}.measure.i())")

    def _read_statement(self, drive: int, volts: float, biases: list[int]) -> tuple[str, list[int]]:
        """Drive and bias channels at ``volts``, print the drive current, all back to 0 V and off."""
        for c in (drive, *biases):
            self._check_channel(c)
        self.limits.check_read(volts)
        chans = sorted({drive, *biases})
        on = " ".join(f"{_CH[c]}.source.levelv = {_num(volts)} {_CH[c]}.source.output = 1" for c in chans)
        off = " ".join(f"{_CH[c]}.source.output = 0 {_CH[c]}.source.levelv = 0" for c in chans)
        return f"{on} print({_CH[drive]}.measure.i()) {off}", chans

    async def read(self, volts: float, channel: int = 1) -> float:
        return await self.read_with_bias(channel, volts, [])

    async def read_with_bias(self, drive: int, volts: float, biases: list[int]) -> float:
        """Drive and bias channels all at ``volts``, measure the drive channel, outputs off (one round trip)."""
        msg, chans = self._read_statement(drive, volts, biases)
        self._mark(chans, True)
        value = await self._print(msg)
        self._mark(chans, False)
        return value

    async def read_pair(self, drive: int, volts: float, sense: int) -> float:
        """Drive ``volts`` on one channel, hold the other at 0 V, return the current into the sense channel."""
        d, s = self._ch(drive), self._ch(sense)
        self.limits.check_read(volts)
        msg = (f"{s}.source.levelv = 0 {s}.source.output = 1 {d}.source.levelv = {_num(volts)} "
               f"{d}.source.output = 1 print({s}.measure.i()) {d}.source.output = 0 {s}.source.output = 0 "
               f"{d}.source.levelv = 0")
        self._mark([drive, sense], True)
        value = await self._print(msg)
        self._mark([drive, sense], False)
        return value

    def _pulse_statement(self, peaks: dict[int, float], width: float) -> str:
        for ch, v in peaks.items():
            self._check_channel(ch)
            self.limits.check_pulse(v, width)
        chans = sorted(peaks)
        on = " ".join(f"{_CH[c]}.source.levelv = 0 {_CH[c]}.source.output = 1" for c in chans)
        up = " ".join(f"{_CH[c]}.source.levelv = {_num(peaks[c])}" for c in chans)
        down = " ".join(f"{_CH[c]}.source.levelv = 0" for c in chans)
        off = " ".join(f"{_CH[c]}.source.output = 0" for c in chans)
        return f"{on} {up} delay({_num(width)}) {down} {off}"

    async def pulse(self, volts: float, width: float, channel: int = 1) -> float:
        return await self.pulse_channels({channel: volts}, width, measure=channel)

    async def pulse_channels(self, peaks: dict[int, float], width: float, *, measure: int) -> float:
        """One pulse on every channel in ``peaks`` at once (from 0 V, same width), outputs off after; returns NaN
        (no measurement during the pulse). Confirmed by a printed 1; never retried."""
        self._check_channel(measure)
        msg = self._pulse_statement(peaks, width) + " print(1)"
        self._mark(sorted(peaks), True)
        await self._print(msg, safe=False)
        self._mark(sorted(peaks), False)
        return math.nan

    async def pulse_and_read(self, peaks: dict[int, float], width: float, *, measure: int, read_volts: float,
                             biases: list[int]) -> tuple[float, float]:
        """:meth:`pulse_channels` then :meth:`read_with_bias` in one message: (NaN, read current)."""
        pulse = self._pulse_statement(peaks, width)
        read, chans = self._read_statement(measure, read_volts, biases)
        chans = sorted({*chans, *peaks})
        self._mark(chans, True)
        value = await self._print(pulse + " " + read, safe=False)
        self._mark(chans, False)
        return math.nan, value

    # --- in-instrument write-verify -------------------------------------------------------------------------
    async def load_write_verify(self) -> None:
        """Load labctl's write-verify script (``loadscript labctl_wv`` ... ``endscript``) and run it, which
        defines ``labctl_cell``; confirmed with an empty error queue."""
        await self._write(f"loadscript {SCRIPT_NAME}")
        for line in wv_script().splitlines():
            if line.strip() and not line.lstrip().startswith("--"):
                await self._write(line)
        await self._write("endscript")
        await self._query(f"{SCRIPT_NAME}.run() print(1)")
        await self.check_errors()
        self.script_loaded = True

    def check_write_verify(self, s: IsppSettings, start: dict[int, float] | None, read_volts: float,
                           drive: int, bias: int, kbias: float) -> None:
        """Every amplitude the loop can reach, its widths and the read voltage, against the limits."""
        self._check_channel(drive)
        self._check_channel(bias)
        self.limits.check_read(read_volts)
        caps = [s.set_cap, s.reset_cap, *(abs(v) for v in (start or {}).values())]
        for width in (s.width, s.width_max):
            for v in caps:
                self.limits.check_pulse(v, width)
                self.limits.check_pulse(kbias * v, width)
        if not 0 <= kbias <= 1:
            raise LimitError(f"kbias = {kbias:g} is out of range; allowed [0, 1]", field="kbias")
        if start:
            for pol, v in start.items():
                if pol not in (1, -1) or not v > 0:
                    raise ConfigError.invalid("start", start, "{1: SET V > 0, -1: RESET V > 0}")

    def _fields(self, s: IsppSettings, start: dict[int, float] | None, read_volts: float, drive: int, bias: int,
                kbias: float) -> dict[str, str]:
        return {
            "drive": _CH[drive], "bias": _CH[bias], "kbias": _num(kbias), "vread": _num(read_volts),
            "vmax": _num(max(s.set_cap, s.reset_cap, *(abs(v) for v in (start or {}).values()))),
            "wmin": _num(self.limits.bench.min_pulse_width), "wmax": _num(s.width_max),
            **{k: _num(float(v)) for k, v in vars(s).items() if not isinstance(v, bool)},
            **{k: "true" if v else "false" for k, v in vars(s).items() if isinstance(v, bool)},
        }

    async def write_verify_row(self, s: IsppSettings, cells: list[tuple[float, list[tuple[int, str]]]], *,
                               warm: WarmState | None, read_volts: float, drive: int = 1, bias: int = 2,
                               kbias: float = 0.5) -> list[WvResult]:
        """Several cells in one message: per cell (target, route), the route being ``(node, closed list)`` per
        TSP-Link node whose relays move: the script makes the list the node's only closed channels
        (``channel.exclusiveclose`` with ``connectrule = channel.OFF``: the opens and closes move together and settle
        once; cold switching, the outputs are off) before the cell's loop. Warm starts are applied and learnt inside,
        by the rules of the per-cell path. Never retried."""
        self.check_write_verify(s, None, read_volts, drive, bias, kbias)
        if not cells:
            return []
        if not self.script_loaded:
            await self.load_write_verify()
        fields = self._fields(s, None, read_volts, drive, bias, kbias)
        items = []
        for target, route in cells:
            moves = ", ".join(f'{{{n}, "{closed}"}}' for n, closed in route)
            items.append(f'{{{_band(s, target)}, key = "{target!r}", route = {{{moves}}}}}')
        w = _warm_table(warm)
        msg = ("labctl_row({" + ", ".join(f"{k} = {v}" for k, v in fields.items()) + "}, {" + ", ".join(items)
               + "}, " + w + ")")
        self._mark([drive, bias], True)
        reply = await self._query(msg, safe=False)
        self._mark([drive, bias], False)
        results = [WvResult(part) for part in reply.strip().split("|")]
        if (results and results[-1].status in ("limit", "error")) or len(results) != len(cells):
            errs = await self.errors()
            raise InstrumentReportedError(f"{self.name}: write-verify row stopped after {len(results)} of "
                                          f"{len(cells)} cells: {'; '.join(errs) or 'limit reached'}")
        return results

    async def write_verify_groups(self, s: IsppSettings, groups: list[GroupPlan], *, warm: WarmState | None,
                                  read_volts: float, bias: int = 2, kbias: float = 0.5) -> list[WvResult]:
        """Parallel write-verify in one message: per group (route, cells) the relays move as in
        :meth:`write_verify_row`, then its cells (target, column channel as a TSP name: ``node[4].smua``) are
        programmed at once, the selected row grounded, each column on its own channel, every other line on this
        instrument's ``bias`` channel. Results in the order of the cells. Never retried."""
        self.check_write_verify(s, None, read_volts, bias, bias, kbias)
        cells = [c for _, grp in groups for c in grp]
        if not cells:
            return []
        for _, chan in cells:
            if not re.fullmatch(r"(node\[\d+\]\.)?smu[ab]", chan):
                raise ConfigError.invalid("channel", chan, "smua, smub or node[N].smua/smub")
        if not self.script_loaded:
            await self.load_write_verify()
        fields = self._fields(s, None, read_volts, bias, bias, kbias)
        del fields["drive"]
        items = []
        for route, grp in groups:
            moves = ", ".join(f'{{{n}, "{closed}"}}' for n, closed in route)
            members = ", ".join(f'{{ch = {chan}, {_band(s, t)}, key = "{t!r}"}}' for t, chan in grp)
            items.append(f"{{route = {{{moves}}}, cells = {{{members}}}}}")
        msg = ("labctl_groups({" + ", ".join(f"{k} = {v}" for k, v in fields.items()) + "}, {" + ", ".join(items)
               + "}, " + _warm_table(warm) + ")")
        self._mark([bias], True)
        reply = await self._query(msg, safe=False)
        self._mark([bias], False)
        results = [WvResult(part) for part in reply.strip().split("|")]
        if any(r.status in ("limit", "error") for r in results) or len(results) != len(cells):
            errs = await self.errors()
            raise InstrumentReportedError(f"{self.name}: parallel write-verify stopped after {len(results)} of "
                                          f"{len(cells)} cells: {'; '.join(errs) or 'limit reached'}")
        return results

    async def write_verify(self, s: IsppSettings, *, target: float, start: dict[int, float] | None,
                           read_volts: float, drive: int = 1, bias: int = 2, kbias: float = 0.5) -> WvResult:
        """Run one cell's write-verify inside the instrument (one round trip, never retried)."""
        self.check_write_verify(s, start, read_volts, drive, bias, kbias)
        if not self.script_loaded:
            await self.load_write_verify()
        fields = {**self._fields(s, start, read_volts, drive, bias, kbias), **_bounds(s, target)}
        if start and 1 in start:
            fields["start_set"] = _num(start[1])
        if start and -1 in start:
            fields["start_reset"] = _num(start[-1])
        msg = "labctl_cell{" + ", ".join(f"{k} = {v}" for k, v in fields.items()) + "}"
        self._mark([drive, bias], True)
        reply = await self._query(msg, safe=False)
        self._mark([drive, bias], False)
        result = WvResult(reply)
        if result.status in ("limit", "error"):
            errs = await self.errors()
            raise InstrumentReportedError(f"{self.name}: write-verify stopped ({result.status}) after "
                                          f"{len(result.pulses)} pulses: {'; '.join(errs) or 'limit reached'}")
        return result

    async def safe_state(self) -> None:
        await self._query("smua.source.output = 0 smub.source.output = 0 smua.source.levelv = 0 "
                          "smub.source.levelv = 0 print(1)")
        self._mark([1, 2], False)
