"""Keysight B2201A switch mainframe (B2200 family) with B2211A cards: 14 inputs x 12 outputs per card.

At connect the driver selects, then reads back, every mode it depends on (B2200 user's guide, ROUTe subsystem;
``docs/instruments/keysight_b2201a.md``):

* channel configuration: auto (``ACON``, the default: the cards form card 0, channel ``0IIOO`` with outputs
  1..12*cards) or normal (``NCON``: channel ``cIIoo``, card c = slot 1..4, outputs 1..12 on each card);
* connection rule FREE on every card (it closes one input onto many outputs; single route would release them),
  connection sequence BBM;
* bias, ground and couple modes OFF (they would connect ports of their own to the outputs it leaves open).

Routing: ``:ROUT:OPEN (@...);:ROUT:CLOS (@...);:ROUT:CLOS? (@...)`` in one message, consecutive outputs of one
input as a range (within a card in normal config). Every reply is parsed strictly: anything else raises
``InstrumentError`` naming the instrument and the command.
"""

from __future__ import annotations

import re
from itertools import groupby

from instruments.matrix import MatrixDriver, Point
from labctl.core.errors import ConfigError, InstrumentError
from labctl.core.matrix_models import KEYSIGHT_B2201A

MODES = {"auto": "ACON", "normal": "NCON"}
_CHANNELS = re.compile(r"^\(@((?:\d{5})(?:,\d{5})*)?\)$")


class KeysightB2201A(MatrixDriver):
    model = KEYSIGHT_B2201A
    idn_models = ("B2201A", "B2200A")

    def __init__(self, *args: object, config_mode: str = "auto", **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        card = self.model.card(None)
        assert card is not None
        if config_mode not in MODES:
            raise ConfigError.invalid("config_mode", config_mode, "'auto' or 'normal'")
        if self.per_card != card.outputs or not 1 <= self.cards <= self.model.slots:
            raise ConfigError(f"{self.name}: {self.cards} cards of {self.per_card} outputs do not fit a "
                              f"{self.model.describe()}: at most {self.model.slots} {card.name} cards of "
                              f"{card.outputs} outputs")
        self.config_mode = config_mode
        self.mode = MODES[config_mode]

    # --- channel numbers ------------------------------------------------------------------------------------
    @property
    def card_keys(self) -> list[int]:
        """The card numbers of the per-card settings: 0 in auto config, the slots in normal config."""
        return [0] if self.mode == "ACON" else list(range(1, self.cards + 1))

    def _scope(self, output: int) -> int:
        return 0 if self.mode == "ACON" else (output - 1) // self.per_card + 1

    def spec(self, p: Point) -> str:
        inp, out = p
        if self.mode == "ACON":
            return f"0{inp:02d}{out:02d}"
        card, o = divmod(out - 1, self.per_card)
        return f"{card + 1}{inp:02d}{o + 1:02d}"

    def point(self, channel: str, card: int) -> Point:
        """The crosspoint of a 5-digit channel number read back from card ``card``; ValueError if not ours."""
        c, inp, o = int(channel[0]), int(channel[1:3]), int(channel[3:5])
        n_out = self.outputs if self.mode == "ACON" else self.per_card
        if c != card or not (1 <= inp <= self.inputs and 1 <= o <= n_out):
            raise ValueError(f"channel {channel} is not on card {card} in {self.mode} mode")
        return inp, o if self.mode == "ACON" else (c - 1) * self.per_card + o

    def channel_list(self, points: list[Point]) -> str:
        """Compact channel list: consecutive outputs of one input (on one card in normal config) as a range."""
        items: list[str] = []
        keyed = sorted(points)
        for (inp, _scope), grp in groupby(keyed, key=lambda p: (p[0], self._scope(p[1]))):
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

    # --- connect ------------------------------------------------------------------------------------------------
    def _unexpected(self, command: str, reply: str, expected: str) -> InstrumentError:
        return InstrumentError(f"{self.name}: unexpected reply {reply!r} to {command!r}; expected {expected}")

    async def configure(self) -> None:
        """Identify, select the modes, read them back, open every relay, and check the error queue."""
        idn = await self.identify()
        if self.identity_problem(idn) is not None:
            raise self._unexpected("*IDN?", idn, "'<maker>,B2201A,<serial>,<revision>'")
        await self._write(f"*CLS;:ROUT:FUNC {self.mode};:ROUT:CONN:RULE ALL,FREE;:ROUT:CONN:SEQ ALL,BBM;"
                          ":ROUT:BIAS ALL,OFF;:ROUT:AGND ALL,OFF;:ROUT:COUP ALL,OFF")
        await self.verify_modes()
        await self.open_all()
        await self.check_errors()

    async def verify_modes(self) -> None:
        """Read back the channel configuration and, per card, the rule, sequence, bias, ground and couple."""
        per_card = ["FREE", "BBM", "0", "0", "0"]
        query = ":ROUT:FUNC?" + "".join(f";:ROUT:CONN:RULE? {k};:ROUT:CONN:SEQ? {k};:ROUT:BIAS? {k};"
                                         f":ROUT:AGND? {k};:ROUT:COUP? {k}" for k in self.card_keys)
        expected = [self.mode] + per_card * len(self.card_keys)
        reply = await self._query(query)
        if [x.strip().upper() for x in reply.split(";")] != expected:
            raise self._unexpected(query, reply, ";".join(expected))

    # --- routing --------------------------------------------------------------------------------------------
    def _route_message(self, opens: list[Point], closes: list[Point], verify: list[Point]) -> str:
        parts = []
        if opens:
            parts.append(f":ROUT:OPEN {self.channel_list(opens)}")
        if closes:
            parts.append(f":ROUT:CLOS {self.channel_list(closes)}")
        parts.append(f":ROUT:CLOS? {self.channel_list(verify)}")
        return ";".join(parts)

    def _parse_verify(self, reply: str, verify: list[Point]) -> set[Point]:
        # the instrument answers in the order of the expanded list it was sent: sorted (input, output)
        flags = [x.strip() for x in reply.split(",")]
        order = sorted(verify)
        if len(flags) != len(order) or any(f not in ("0", "1") for f in flags):
            raise ValueError(f"{len(flags)} flags for {len(order)} channels")
        return {p for p, f in zip(order, flags, strict=True) if f == "1"}

    def _open_all_message(self) -> str:
        return ":ROUT:OPEN:CARD ALL;*OPC?"

    async def open_all(self) -> None:
        message = self._open_all_message()
        reply = (await self._query(message)).strip()
        if reply != "1":
            raise self._unexpected(message, reply, "'1'")
        self.state = set()

    async def closed(self) -> frozenset[Point]:
        """The closed crosspoints as the instrument reports them (``:ROUT:CLOS:CARD?`` per card)."""
        query = ";".join(f":ROUT:CLOS:CARD? {k}" for k in self.card_keys)
        reply = (await self._query(query)).strip()
        lists = reply.split(";")
        out: set[Point] = set()
        try:
            if len(lists) != len(self.card_keys):
                raise ValueError(f"{len(lists)} channel lists for {len(self.card_keys)} cards")
            for key, text in zip(self.card_keys, lists, strict=True):
                m = _CHANNELS.match(text.strip())
                if m is None:
                    raise ValueError(f"{text!r} is not a channel list")
                out |= {self.point(ch, key) for ch in filter(None, (m.group(1) or "").split(","))}
        except ValueError as exc:
            raise self._unexpected(query, reply, f"a channel list per card ({exc})") from None
        return frozenset(out)
