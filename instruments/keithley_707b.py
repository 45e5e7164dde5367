"""Keithley 707B switching matrix (TSP). Channels ``<slot><row A-H><col 2 digits>``; the row letter is the
instrument-side input, the column the DUT-side output on that slot. Routing is ``channel.open("...")``
``channel.close("...")`` then ``print(channel.getclose("allslots"))`` in one message."""

from __future__ import annotations

from instruments.matrix import MatrixDriver, Point
from labctl.core.errors import InstrumentError, InstrumentReportedError
from labctl.core.matrix_models import KEITHLEY_707B


class Keithley707B(MatrixDriver):
    model = KEITHLEY_707B
    idn_models = ("707B",)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.inputs = min(self.inputs, self.model.inputs)  # rows A..H

    def spec(self, p: Point) -> str:
        slot, col = divmod(p[1] - 1, self.per_card)
        return f"{slot + 1}{chr(64 + p[0])}{col + 1:02d}"

    def channel_list(self, points: list[Point]) -> str:
        return ",".join(self.spec(p) for p in sorted(points, key=lambda p: (p[1], p[0])))

    def channel_ranges(self, points: list[Point]) -> str:
        """The same channels as a list with ``A:B`` ranges: runs of consecutive columns on one row of one slot
        (``2B01:2B12``), so a full closed set stays short."""
        runs: list[list[Point]] = []
        for p in sorted(set(points), key=lambda p: ((p[1] - 1) // self.per_card, p[0], p[1])):
            last = runs[-1][-1] if runs else None
            if (last is not None and last[0] == p[0] and last[1] + 1 == p[1]
                    and (last[1] - 1) // self.per_card == (p[1] - 1) // self.per_card):
                runs[-1].append(p)
            else:
                runs.append([p])
        return ",".join(self.spec(r[0]) if len(r) == 1 else f"{self.spec(r[0])}:{self.spec(r[-1])}" for r in runs)

    def _route_message(self, opens: list[Point], closes: list[Point], verify: list[Point]) -> str:
        parts = []
        if opens:
            parts.append(f'channel.open("{self.channel_list(opens)}")')
        if closes:
            parts.append(f'channel.close("{self.channel_list(closes)}")')
        parts.append('print(channel.getclose("allslots"))')
        return " ".join(parts)

    def parse_closed(self, reply: str) -> set[Point]:
        text = reply.strip()
        if text == "nil":
            return set()
        out = set()
        for item in text.split(";"):
            item = item.strip()
            if len(item) != 4 or not item[0].isdigit() or not item[1].isalpha() or not item[2:].isdigit():
                raise ValueError(f"bad channel {item!r}")
            out.add((ord(item[1].upper()) - 64, (int(item[0]) - 1) * self.per_card + int(item[2:])))
        return out

    def _parse_verify(self, reply: str, verify: list[Point]) -> set[Point]:
        return self.parse_closed(reply) & set(verify)

    def _open_all_message(self) -> str:
        return 'channel.open("allslots") print(channel.getclose("allslots"))'

    async def closed(self) -> frozenset[Point]:
        query = 'print(channel.getclose("allslots"))'
        reply = await self._query(query)
        try:
            return frozenset(self.parse_closed(reply))
        except ValueError as exc:
            raise InstrumentError(f"{self.name}: unexpected reply {reply!r} to {query!r} ({exc})") from None

    async def errors(self) -> list[str]:
        out = []
        query = "print(errorqueue.count)"
        reply = (await self._query(query)).strip()
        try:
            count = int(float(reply))
        except ValueError:
            raise InstrumentError(f"{self.name}: unexpected reply {reply!r} to {query!r}; expected a count") from None
        for _ in range(min(count, 20)):
            out.append((await self._query("print(errorqueue.next())")).replace("\t", " "))
        return out

    async def check_errors(self) -> None:
        errs = await self.errors()
        if errs:
            raise InstrumentReportedError(f"{self.name} reported: {'; '.join(errs)}")
