"""Simulated Keysight B2201A switch mainframe with B2211A cards: the ROUTe subsystem of the B2200 user's guide.

The routing rules (configuration modes, connection rule and sequence, bias, ground and couple modes) are in
:mod:`sim_instruments.devices._b2200_routing`; this module is the SCPI command table
(``docs/instruments/keysight_b2201a.md``). Every ``[:ROUTe]`` header may omit ``:ROUTe``. On an error nothing
moves and the error goes to the queue.
"""

from __future__ import annotations

import zlib

from sim_instruments.bench import SimBench
from sim_instruments.devices._b2200_routing import PER_CARD, B2200Routing, CardSettings, Event, Point
from sim_instruments.scpi import ScpiDevice, ScpiError, channel_list, parse_bool

Args = list[str]
Sfx = tuple[str, ...]
CONFIG_WORDS = {"NCON": "NCON", "NCONFIG": "NCON", "ACON": "ACON", "ACONFIG": "ACON"}
RULE_WORDS = {"FREE": "FREE", "SROU": "SROU", "SROUTE": "SROU"}
SEQ_WORDS = {"NSEQ": "NSEQ", "NSEQUENCE": "NSEQ", "BBM": "BBM", "MBBR": "MBBR", "MBBREAK": "MBBR"}
CARD_TYPE = "B2211A"


def _quoted_ints(arg: str | None, allowed: range) -> list[int]:
    """``'5,6,7'`` (a string parameter; empty: none) -> [5, 6, 7]."""
    if arg is None:
        raise ScpiError(-109)
    text = arg.strip()
    if len(text) < 2 or text[0] not in "'\"" or text[-1] != text[0]:
        raise ScpiError(-104, arg)
    out: list[int] = []
    for item in filter(None, (x.strip() for x in text[1:-1].split(","))):
        if not item.isdigit() or int(item) not in allowed:
            raise ScpiError(-222, item)
        out.append(int(item))
    return sorted(set(out))


def _word(arg: str | None, words: dict[str, str]) -> str:
    if arg is None or not arg.strip():
        raise ScpiError(-109)
    w = words.get(arg.strip().upper())
    if w is None:
        raise ScpiError(-224, arg)
    return w


class SimB2201A(ScpiDevice):
    def __init__(self, bench: SimBench, name: str) -> None:
        self.bench, self.name = bench, name
        cfg = bench.config.instruments[name]
        self.cards = cfg.cards
        self.idn = f"AGILENT TECHNOLOGIES,B2201A,MY{zlib.crc32(name.encode()) % 10**8:08d},A.01.00"
        self.routing = B2200Routing(self.cards)  # power-on: auto configuration (see the command table)
        self.symbols: dict[tuple[int, int], str] = {}  # (card key, output) -> front-panel label
        self.ese = self.sre = 0
        super().__init__()
        self.on_message = lambda: bench.advance(bench.timing.command)

    @property
    def state(self) -> set[Point]:
        return self.bench.matrices[self.name].closed

    # --- helpers ----------------------------------------------------------------------------------------------
    def _apply(self, events: list[Event]) -> None:
        for points, close, settle in events:
            self.bench.switch(self.name, points, close, settle=settle)
        self.bench.set_grounded(self.name, self.routing.grounded_inputs())

    def _points(self, arg: str | None) -> list[Point]:
        return [self.routing.point(c, i, o) for c, i, o in channel_list(arg)]

    def _cards(self, a: Args, n: int, *, allow_all: bool = True) -> list[CardSettings]:
        """The settings named by the card parameter ``a[0]``; ``n`` parameters expected in all."""
        if len(a) < n:
            raise ScpiError(-109)
        if len(a) > n:
            raise ScpiError(-108, ",".join(a[n:]))
        return [self.routing.settings[k] for k in self.routing.card_keys(a[0], allow_all=allow_all)]

    def _card(self, a: Args) -> CardSettings:
        return self._cards(a, 1, allow_all=False)[0]

    def reset(self) -> None:
        self.routing.reset()
        self.symbols.clear()
        self._apply(self.routing.settle(set(self.state)))

    def _channels(self, points: list[Point]) -> str:
        return "(@" + ",".join(self.routing.channel(p) for p in sorted(points, key=self.routing.channel)) + ")"

    # --- ROUTe: connections -----------------------------------------------------------------------------------
    def _route_commands(self) -> list[tuple[str, object]]:
        r = self.routing

        def close(a: Args, s: Sfx) -> None:
            self._apply(r.close(self._points(a[0] if a else None), set(self.state)))

        def open_(a: Args, s: Sfx) -> None:
            self._apply(r.open(self._points(a[0] if a else None), set(self.state)))

        def closed_q(a: Args, s: Sfx) -> str:
            return ",".join("1" if p in self.state else "0" for p in self._points(a[0] if a else None))

        def open_q(a: Args, s: Sfx) -> str:
            return ",".join("0" if p in self.state else "1" for p in self._points(a[0] if a else None))

        def open_card(a: Args, s: Sfx) -> None:
            self._cards(a, 1)
            self._apply(r.open_cards(r.card_keys(a[0], allow_all=True), set(self.state)))

        def card_q(a: Args, s: Sfx) -> str:
            keys = r.card_keys(a[0] if a else "", allow_all=True)
            return self._channels([p for p in self.state if r.key_of(p[1]) in keys])

        def func(a: Args, s: Sfx) -> None:
            mode = _word(a[0] if a else None, CONFIG_WORDS)
            before = set(self.state)
            r.set_config(mode)
            self._apply(r.settle(before))

        return [
            ("[:ROUTe]:FUNCtion", func),
            ("[:ROUTe]:FUNCtion?", lambda a, s: r.config),
            ("[:ROUTe]:CLOSe[:LIST]", close),
            ("[:ROUTe]:CLOSe[:LIST]?", closed_q),
            ("[:ROUTe]:OPEN[:LIST]", open_),
            ("[:ROUTe]:OPEN[:LIST]?", open_q),
            ("[:ROUTe]:OPEN:CARD", open_card),
            ("[:ROUTe]:CLOSe:CARD?", card_q),
        ]

    # --- ROUTe: per-card settings -----------------------------------------------------------------------------
    def _setting_commands(self) -> list[tuple[str, object]]:
        def setter(attr: str, parse: object) -> object:
            def handler(a: Args, s: Sfx) -> None:
                targets = self._cards(a, 2)
                value = parse(a[1])  # type: ignore[operator]
                if attr in ("bias", "ground") and value:
                    other = "ground" if attr == "bias" else "bias"
                    if any(getattr(t, other) for t in targets):
                        raise ScpiError(-221, f"{attr} mode needs {other} mode OFF")
                before = set(self.state)
                for t in targets:
                    setattr(t, attr, value)
                self._apply(self.routing.settle(before))
            return handler

        def getter(attr: str, fmt: object) -> object:
            return lambda a, s: fmt(getattr(self._card(a), attr))  # type: ignore[operator]

        def port(arg: str) -> int:
            if not arg.strip().lstrip("+").isdigit() or not 1 <= int(arg) <= 14:
                raise ScpiError(-222, f"port {arg}; allowed 1..14")
            return int(arg)

        def boolean(v: bool) -> str:
            return "1" if v else "0"

        def ints(v: list[int]) -> str:
            return "'" + ",".join(str(x) for x in v) + "'"

        def couple_ports(arg: str) -> list[int]:
            ports = _quoted_ints(arg, range(1, 15))
            if any(p % 2 == 0 for p in ports):
                raise ScpiError(-222, f"couple ports {ports}; allowed odd inputs 1..13")
            return ports

        table: list[tuple[str, str, object, object]] = [
            ("[:ROUTe]:CONNection:RULE", "rule", lambda x: _word(x, RULE_WORDS), str),
            ("[:ROUTe]:CONNection:SEQuence", "sequence", lambda x: _word(x, SEQ_WORDS), str),
            ("[:ROUTe]:BIAS[:STATe]", "bias", parse_bool, boolean),
            ("[:ROUTe]:BIAS:PORT", "bias_port", port, str),
            ("[:ROUTe]:AGND[:STATe]", "ground", parse_bool, boolean),
            ("[:ROUTe]:AGND:PORT", "ground_port", port, str),
            ("[:ROUTe]:AGND:UNUSed", "unused", lambda x: _quoted_ints(x, range(1, 15)), ints),
            ("[:ROUTe]:COUPle[:STATe]", "couple", parse_bool, boolean),
            ("[:ROUTe]:COUPle:PORT", "couple_ports", couple_ports, ints),
        ]
        out: list[tuple[str, object]] = []
        for header, attr, parse, fmt in table:
            out += [(header, setter(attr, parse)), (header + "?", getter(attr, fmt))]
        return out

    def _enable_commands(self) -> list[tuple[str, object]]:
        """Bias- and ground-enabled outputs: by channel list (the input digits are ignored) or whole cards."""
        r = self.routing

        def by_list(attr: str, on: bool) -> object:
            def handler(a: Args, s: Sfx) -> None:
                pts = self._points(a[0] if a else None)
                before = set(self.state)
                for _, o in pts:
                    target: set[int] = getattr(r.settings_of(o), attr)
                    (target.add if on else target.discard)(o)
                self._apply(r.settle(before))
            return handler

        def by_list_q(attr: str, on: bool) -> object:
            return lambda a, s: ",".join(
                "1" if (o in getattr(r.settings_of(o), attr)) == on else "0"
                for _, o in self._points(a[0] if a else None))

        def by_card(attr: str, on: bool) -> object:
            def handler(a: Args, s: Sfx) -> None:
                before = set(self.state)
                for t in self._cards(a, 1):
                    setattr(t, attr, set(t.outputs) if on else set())
                self._apply(r.settle(before))
            return handler

        def by_card_q(attr: str, port: str, on: bool) -> object:
            def handler(a: Args, s: Sfx) -> str:
                t = self._card(a)
                enabled: set[int] = getattr(t, attr)
                return self._channels([(getattr(t, port), o) for o in t.outputs if (o in enabled) == on])
            return handler

        out: list[tuple[str, object]] = []
        for node, attr, port in (("BIAS", "bias_enabled", "bias_port"), ("AGND", "ground_enabled", "ground_port")):
            for word, on in (("ENABle", True), ("DISable", False)):
                head = f"[:ROUTe]:{node}:CHANnel:{word}"
                out += [(head + "[:LIST]", by_list(attr, on)), (head + "[:LIST]?", by_list_q(attr, on)),
                        (head + ":CARD", by_card(attr, on)), (head + ":CARD?", by_card_q(attr, port, on))]
        return out

    # --- the rest ---------------------------------------------------------------------------------------------
    def commands(self) -> list[tuple[str, object]]:  # type: ignore[override]
        def detect(a: Args, s: Sfx) -> None:
            # no Kelvin (force/sense) pair is wired to the inputs of a simulated bench: nothing is detected
            targets = self._cards(a, 1) if a else list(self.routing.settings.values())
            for t in targets:
                t.couple_ports = []

        def symbol_key(a: Args, n: int) -> tuple[int, int]:
            if len(a) != n:
                raise ScpiError(-109 if len(a) < n else -108)
            return self.routing.card_keys(a[0], allow_all=False)[0], self._output(a[1])

        def symbol(a: Args, s: Sfx) -> None:
            key = symbol_key(a, 3)
            text = a[2].strip()
            if len(text) < 2 or text[0] not in "'\"" or text[-1] != text[0]:
                raise ScpiError(-104, a[2])
            self.symbols[key] = text[1:-1]

        def symbol_q(a: Args, s: Sfx) -> str:
            key = symbol_key(a, 2)
            return "'" + self.symbols.get(key, f"{key[1]:02d}") + "'"

        def slot(a: Args) -> int:
            if len(a) != 1 or not a[0].strip().isdigit() or not 1 <= int(a[0]) <= 4:
                raise ScpiError(-222 if a else -109, ",".join(a))
            return int(a[0])

        def ctype(a: Args, s: Sfx) -> str:
            return f"AGILENT,{CARD_TYPE},0,A.01.00" if slot(a) <= self.cards else "NONE"

        def cdes(a: Args, s: Sfx) -> str:
            return "14x12 Low Leakage Switch Matrix" if slot(a) <= self.cards else "NONE"

        def cpon(a: Args, s: Sfx) -> None:
            keys = self.routing.card_keys(a[0] if a else "", allow_all=True)
            before = set(self.state)
            for k in keys:
                fresh = CardSettings(self.routing.settings[k].outputs)
                self.routing.settings[k] = fresh
            self.routing.user = {p for p in self.routing.user if self.routing.key_of(p[1]) not in keys}
            self._apply(self.routing.settle(before))

        return [
            *self._route_commands(),
            *self._setting_commands(),
            *self._enable_commands(),
            ("[:ROUTe]:COUPle:PORT:DETect", detect),
            ("[:ROUTe]:SYMBol:CHANnel", symbol),
            ("[:ROUTe]:SYMBol:CHANnel?", symbol_q),
            (":SYSTem:CTYPe?", ctype),
            (":SYSTem:CDEScription?", cdes),
            (":SYSTem:CPON", cpon),
            (":SYSTem:CCONfig?", lambda a, s: ",".join(CARD_TYPE if c <= self.cards else "NONE"
                                                         for c in range(1, 5))),
            ("*TST?", lambda a, s: "0"),
            ("*ESE", lambda a, s: self._set_reg("ese", a)),
            ("*ESE?", lambda a, s: str(self.ese)),
            ("*SRE", lambda a, s: self._set_reg("sre", a)),
            ("*SRE?", lambda a, s: str(self.sre)),
            ("*STB?", lambda a, s: str(self._stb())),
        ]

    def _output(self, word: str) -> int:
        n = PER_CARD if self.routing.config == "NCON" else self.cards * PER_CARD
        if not word.strip().isdigit() or not 1 <= int(word) <= n:
            raise ScpiError(-222, f"output {word}; allowed 1..{n}")
        return int(word)

    def _set_reg(self, reg: str, a: Args) -> None:
        if len(a) != 1 or not a[0].strip().isdigit() or not 0 <= int(a[0]) <= 255:
            raise ScpiError(-222 if a else -109, ",".join(a))
        setattr(self, reg, int(a[0]))

    def push_error(self, err: ScpiError) -> None:
        """As the base, but a device-dependent error (the B2200's positive codes) sets ESR bit 3 (DDE)."""
        if err.code > 0:
            self.esr |= 8
            if len(self.errors) >= self.error_queue_size:
                self.errors[-1] = (-350, str(ScpiError(-350)))
                return
            self.errors.append((err.code, str(err)))
            return
        super().push_error(err)

    def _stb(self) -> int:
        """Status byte: bit 2 error queue not empty, bit 5 standard event summary (ESR & ESE)."""
        return (4 if self.errors else 0) | (32 if self.esr & self.ese else 0)
