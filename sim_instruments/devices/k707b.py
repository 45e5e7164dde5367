"""Simulated Keithley 707B switching matrix (TSP), on :class:`sim_instruments.tsp.TspEngine`.

Channels are ``<slot><row letter><2-digit column>`` (e.g. ``1A05``): the row letter is the instrument-side
input (A = 1 ... H = 8), the column the DUT-side output on that slot. Lists are comma-separated with ``:`` ranges.
Functions: ``channel.close/open/exclusiveclose(list)``, ``channel.open("allslots"|"slotN")``,
``channel.getclose("allslots"|"slotN"|list)`` (``nil`` when none), ``channel.setdelay``, attributes
``channel.connectrule`` and ``channel.connectsequential`` (they set how many relay settling times a call costs:
``docs/instruments/keithley_707b.md``), plus everything the engine provides (``print``,
``errorqueue``, ``reset()``, scripts, ``*IDN?``). A bad channel list raises error 1115 and nothing switches.
Numbers print as integers where they are whole (``print(errorqueue.count)`` -> ``1``).
"""

from __future__ import annotations

import re
from typing import Any

from sim_instruments.bench import MatrixState, SimBench
from sim_instruments.tsp import TspEngine, TspError

_CHAN = re.compile(r"^(\d)([A-Ha-h])(\d\d)$")


def _number(x: float, precision: int) -> str:
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else f"{x:.{precision + 8}g}"


class Sim707B:
    idn = "Keithley Instruments Inc.,Model 707B,04000001,1.6.0a"

    def __init__(self, bench: SimBench, name: str) -> None:
        self.bench, self.name = bench, name
        cfg = bench.config.instruments[name]
        self.slots, self.per_slot = cfg.cards, cfg.outputs_per_card
        self.engine = TspEngine(idn=self.idn, model="707B", now=bench.now, delay=bench.advance, reset=self.reset,
                                number=_number)
        self.declare(self.engine)
        card = cfg.card or "7174A"
        slots = {n: self.engine.lua.table_from({"idn": f"{card},{card} matrix card,1.0.0,0000{n}"})
                 for n in range(1, self.slots + 1)}
        self.engine.items("slot", lambda n: slots.get(n))

    def declare(self, e: TspEngine, prefix: str = "channel") -> None:
        """The ``channel`` table (also what a TSP-Link master sees as ``node[N].channel``)."""
        e.function(f"{prefix}.close", lambda spec: self._close(self._points(spec)))
        e.function(f"{prefix}.open", self._open)
        e.function(f"{prefix}.exclusiveclose", self._exclusive)
        e.function(f"{prefix}.getclose", self._getclose)
        e.function(f"{prefix}.setdelay", lambda *a: None)
        for name, v in (("BREAK_BEFORE_MAKE", 1), ("MAKE_BEFORE_BREAK", 2), ("OFF", 0), ("ON", 1)):
            e.value(f"{prefix}.{name}", v)
        e.attribute(f"{prefix}.connectrule", lambda: self.matrix.connect_rule, self._set_rule)
        e.attribute(f"{prefix}.connectsequential", lambda: int(self.matrix.sequential), self._set_sequential)

    def reset(self) -> None:
        self.bench.switch(self.name, sorted(self.state), close=False)
        self.matrix.connect_rule, self.matrix.sequential = 1, False

    def _points(self, spec: Any) -> list[tuple[int, int]]:
        if not isinstance(spec, str):
            raise TspError(1115, f"Parameter error invalid channel list {spec!r}")
        return self._parse(spec)

    @property
    def matrix(self) -> MatrixState:
        return self.bench.matrices[self.name]

    def _set_rule(self, v: Any) -> None:
        if v not in (0, 1, 2):
            raise TspError(-222, f"Parameter data out of range: channel.connectrule = {v!r}; allowed channel.OFF (0), "
                                 "channel.BREAK_BEFORE_MAKE (1), channel.MAKE_BEFORE_BREAK (2)")
        self.matrix.connect_rule = int(v)

    def _set_sequential(self, v: Any) -> None:
        if v not in (0, 1):
            raise TspError(-222, f"Parameter data out of range: channel.connectsequential = {v!r}; allowed "
                                 "channel.OFF (0), channel.ON (1)")
        self.matrix.sequential = bool(v)

    def _switch(self, points: list[tuple[int, int]], *, close: bool) -> None:
        self.bench.switch(self.name, points, close=close)

    def _close(self, points: list[tuple[int, int]]) -> None:
        """Close: the closures settle together, or one after another with ``connectsequential`` on."""
        new = [p for p in dict.fromkeys(points) if p not in self.state and p not in self.matrix.stuck]
        if self.matrix.sequential and len(new) > 1:
            self.bench.switch(self.name, points, close=True, settle=False)
            self.bench.settle(self.name, len(new))
        else:
            self._switch(points, close=True)

    def _open(self, spec: Any) -> None:
        pts = self._slot_points(spec) if isinstance(spec, str) else None
        self._switch(pts if pts is not None else self._points(spec), close=False)

    def _exclusive(self, spec: Any) -> None:
        """The listed channels become the only closed ones. Break before make (the default rule): the opens settle,
        then the closes; ``connectrule = channel.OFF``: both move at once and settle together (one settling time);
        make before break: the closes first, then the opens."""
        keep = set(self._points(spec))
        opens = sorted(self.state - keep)
        if self.matrix.connect_rule == 0 and not self.matrix.sequential:
            moved = self.bench.switch(self.name, opens, close=False, settle=False)
            moved = self.bench.switch(self.name, sorted(keep), close=True, settle=False) or moved
            if moved:
                self.bench.settle(self.name)
        elif self.matrix.connect_rule == 2:
            self._close(sorted(keep))
            self._switch(opens, close=False)
        else:
            self._switch(opens, close=False)
            self._close(sorted(keep))

    def _getclose(self, spec: Any) -> str | None:
        pts = self._slot_points(spec) if isinstance(spec, str) else None
        if pts is None:
            pts = [p for p in self._points(spec) if p in self.state]
        pts = sorted(pts, key=lambda p: ((p[1] - 1) // self.per_slot, p[0], p[1]))  # slot, row, column
        return ";".join(self._spec(p) for p in pts) if pts else None

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

    def handle(self, message: str) -> str | None:
        self.bench.advance(self.bench.timing.command)
        return self.engine.handle(message)
