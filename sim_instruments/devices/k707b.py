"""Simulated Keithley 707B switching matrix: a TSP (Lua) subset.

Channels are ``<slot><row letter><2-digit column>`` (e.g. ``1A05``): the row letter is the instrument-side
input (A = 1 ... H = 8), the column the DUT-side output on that slot. Lists are comma-separated with ``:`` ranges.
Statements: ``channel.close/open/exclusiveclose("<list>")``, ``channel.open("allslots"|"slotN")``,
``print(channel.getclose("allslots"|"slotN"))``, ``reset()``, ``errorqueue.clear()``,
``print(errorqueue.count)``, ``print(errorqueue.next())``, ``print(localnode.model)``, ``waitcomplete()``,
``opc()``, ``print(<number or string>)``, ``channel.connectrule = channel.BREAK_BEFORE_MAKE`` and ``*IDN?``.
On any error nothing switches and the error goes to the error queue.
"""

from __future__ import annotations

import re
from collections import deque

from sim_instruments.bench import SimBench

_STMT = re.compile(
    r"\s*(?:(?P<print>print)\s*\(\s*)?(?P<name>[A-Za-z_][\w.]*)\s*(?:\((?P<args>[^()]*)\))?\s*\)?\s*"
    r"(?:=\s*(?P<value>[\w.\"']+))?\s*"
)
_CHAN = re.compile(r"^(\d)([A-Ha-h])(\d\d)$")


class TspError(Exception):
    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code


class Sim707B:
    idn = "Keithley Instruments Inc.,Model 707B,04000001,1.6.0a"

    def __init__(self, bench: SimBench, name: str) -> None:
        self.bench, self.name = bench, name
        cfg = bench.config.instruments[name]
        self.slots, self.per_slot = cfg.cards, cfg.outputs_per_card
        self.errors: deque[tuple[int, str]] = deque()

    @property
    def state(self) -> set[tuple[int, int]]:
        return self.bench.matrices[self.name].closed

    def _parse(self, text: str) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        for item in text.split(","):
            item = item.strip()
            if not item:
                continue
            lo, _, hi = item.partition(":")
            a, b = _CHAN.match(lo.strip()), _CHAN.match((hi or lo).strip())
            if a is None or b is None:
                raise TspError(1115, f"Parameter error invalid channel {item}")
            s0, r0, c0 = int(a.group(1)), ord(a.group(2).upper()) - 64, int(a.group(3))
            s1, r1, c1 = int(b.group(1)), ord(b.group(2).upper()) - 64, int(b.group(3))
            for s in range(min(s0, s1), max(s0, s1) + 1):
                for r in range(min(r0, r1), max(r0, r1) + 1):
                    for c in range(min(c0, c1), max(c0, c1) + 1):
                        if not (1 <= s <= self.slots and 1 <= c <= self.per_slot):
                            raise TspError(1115, f"Parameter error invalid channel {s}{chr(64 + r)}{c:02d}")
                        out.append((r, (s - 1) * self.per_slot + c))
        return out

    def _spec(self, p: tuple[int, int]) -> str:
        slot, col = divmod(p[1] - 1, self.per_slot)
        return f"{slot + 1}{chr(64 + p[0])}{col + 1:02d}"

    def _slot_points(self, word: str) -> list[tuple[int, int]] | None:
        w = word.lower()
        if w == "allslots":
            return sorted(self.state)
        if w.startswith("slot") and w[4:].isdigit():
            n = int(w[4:])
            if not 1 <= n <= self.slots:
                raise TspError(1115, f"Parameter error invalid slot {word}")
            return [p for p in self.state if (p[1] - 1) // self.per_slot + 1 == n]
        return None

    def _call(self, name: str, args: str | None) -> str | None:
        arg = (args or "").strip()
        text = arg.strip("\"'") if arg else ""
        switch = self.bench.switch
        if name == "channel.close":
            switch(self.name, self._parse(text), close=True)
        elif name == "channel.open":
            pts = self._slot_points(text)
            switch(self.name, pts if pts is not None else self._parse(text), close=False)
        elif name == "channel.exclusiveclose":
            keep = set(self._parse(text))
            switch(self.name, sorted(self.state - keep), close=False)
            switch(self.name, sorted(keep), close=True)
        elif name == "channel.getclose":
            pts = self._slot_points(text)
            if pts is None:
                pts = [p for p in self._parse(text) if p in self.state]
            pts = sorted(pts, key=lambda p: (p[1], p[0]))
            return ";".join(self._spec(p) for p in pts) if pts else "nil"
        elif name == "reset":
            switch(self.name, sorted(self.state), close=False)
        elif name == "errorqueue.clear":
            self.errors.clear()
        elif name == "errorqueue.next":
            if not self.errors:
                return "0\tQueue Is Empty\t0\t0"
            code, msg = self.errors.popleft()
            return f"{code}\t{msg}\t2\t0"
        elif name in ("waitcomplete", "opc", "channel.setdelay"):
            return "1" if name == "opc" else None
        else:
            raise TspError(-285, f"Program syntax error: unknown function {name}")
        return None

    def _value(self, name: str) -> str:
        if name == "errorqueue.count":
            return str(len(self.errors))
        if name == "localnode.model":
            return "707B"
        if re.fullmatch(r"-?\d+(\.\d*)?", name):
            return name
        raise TspError(-285, f"Program syntax error: nil value {name}")

    def handle(self, message: str) -> str | None:
        self.bench.advance(self.bench.timing.command)
        if message.strip().upper() == "*IDN?":
            return self.idn
        out: list[str] = []
        pos = 0
        text = message.strip()
        try:
            while pos < len(text):
                m = _STMT.match(text, pos)
                if m is None or m.end() == pos:
                    raise TspError(-285, f"Program syntax error near {text[pos:pos + 20]!r}")
                pos = m.end()
                name = m.group("name")
                if m.group("value") is not None:
                    if name not in ("channel.connectrule", "channel.connectsequential"):
                        raise TspError(-285, f"Program syntax error: cannot assign {name}")
                    continue
                if m.group("args") is not None:
                    reply = self._call(name, m.group("args"))
                else:
                    reply = self._value(name) if m.group("print") else None
                if m.group("print"):
                    out.append("nil" if reply is None else reply)
        except TspError as err:
            self.errors.append((err.code, str(err)))
        return "\n".join(out) if out else None
