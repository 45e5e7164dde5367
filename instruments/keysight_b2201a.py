"""Keysight B2201A-style SCPI switch matrix. Channels ``cioo``: card (1 digit), input (2), output on card (2);
lists ``(@10101,10203:10205)``, a range covering the card/input/output rectangle. ``:ROUT:CLOS``,
``:ROUT:OPEN``, ``:ROUT:OPEN:CARD ALL``, ``:ROUT:CLOS? (@list)`` (1/0 per channel), ``:ROUT:CLOS:CARD? 0``."""

from __future__ import annotations

from itertools import groupby

from instruments.matrix import MatrixDriver, Point


class KeysightB2201A(MatrixDriver):
    idn_models = ("B2201A",)
    def spec(self, p: Point) -> str:
        card, o = divmod(p[1] - 1, self.per_card)
        return f"{card + 1}{p[0]:02d}{o + 1:02d}"

    def channel_list(self, points: list[Point]) -> str:
        """Compact channel list: consecutive outputs of one input on one card become a range."""
        items: list[str] = []
        keyed = sorted(points, key=lambda p: (p[0], p[1]))
        for (inp, _card), grp in groupby(keyed, key=lambda p: (p[0], (p[1] - 1) // self.per_card)):
            outs = [p[1] for p in grp]
            start = prev = outs[0]
            for o in [*outs[1:], None]:
                if o is not None and o == prev + 1:
                    prev = o
                    continue
                items.append(self.spec((inp, start)) if start == prev
                             else f"{self.spec((inp, start))}:{self.spec((inp, prev))}")
                if o is not None:
                    start = prev = o
        return "(@" + ",".join(items) + ")"

    def _verify_order(self, verify: list[Point]) -> list[Point]:
        # the instrument answers in the order of the expanded list it was sent
        return sorted(verify, key=lambda p: (p[0], p[1]))

    def _route_message(self, opens: list[Point], closes: list[Point], verify: list[Point]) -> str:
        parts = []
        if opens:
            parts.append(f":ROUT:OPEN {self.channel_list(opens)}")
        if closes:
            parts.append(f":ROUT:CLOS {self.channel_list(closes)}")
        parts.append(f":ROUT:CLOS? {self.channel_list(verify)}")
        return ";".join(parts)

    def _parse_verify(self, reply: str, verify: list[Point]) -> set[Point]:
        flags = [x.strip() for x in reply.split(",")]
        order = self._verify_order(verify)
        if len(flags) != len(order) or any(f not in ("0", "1") for f in flags):
            raise ValueError(f"{len(flags)} flags {reply[:40]!r} for {len(order)} channels")
        return {p for p, f in zip(order, flags, strict=True) if f == "1"}

    def _open_all_message(self) -> str:
        return ":ROUT:OPEN:CARD ALL;*OPC?"

    async def closed(self) -> frozenset[Point]:
        reply = (await self._query(":ROUT:CLOS:CARD? 0")).strip()
        body = reply.removeprefix("(@").removesuffix(")")
        out = set()
        for item in filter(None, body.split(",")):
            c, i, o = int(item[0]), int(item[1:3]), int(item[3:5])
            out.add((i, (c - 1) * self.per_card + o))
        return frozenset(out)
