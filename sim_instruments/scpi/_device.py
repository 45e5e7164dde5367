"""``ScpiDevice``: dispatch of SCPI program messages to handlers, with the common commands and error queue."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable

from sim_instruments.scpi._grammar import ScpiError, compile_header, parse_number, split_args, split_units

_NOT_LONE = (";", " ", "\t", '"', "'", "(", ",")  # a message holding any of these is no lone header

Handler = Callable[[list[str], tuple[str, ...]], "str | None"]
"""``handler(args, suffixes)`` -> reply text for queries, None for commands."""


class ScpiDevice:
    """Subclasses register ``(pattern, handler)`` pairs in ``commands()``; queries end with ``?``."""

    idn = "SIMULATED,SCPI DEVICE,0,0"
    error_queue_size = 10

    def __init__(self) -> None:
        self._table: list[tuple[re.Pattern[str], Handler]] = [
            (compile_header(p), h) for p, h in [*self._common(), *self.commands()]
        ]
        self._cache: dict[str, tuple[Handler, tuple[str, ...]] | None] = {}
        self._fast: dict[str, tuple[Handler, tuple[str, ...]]] = {}
        self.errors: deque[tuple[int, str]] = deque()
        self.esr = 0
        self.ese = 0
        self.sre = 0
        self.on_message: Callable[[], None] | None = None

    # subclass API ---------------------------------------------------------------------------------------
    def commands(self) -> list[tuple[str, Handler]]:
        return []

    def reset(self) -> None:
        """``*RST``: instrument defaults."""

    # common commands -----------------------------------------------------------------------------------
    def _common(self) -> list[tuple[str, Handler]]:
        return [
            ("*IDN?", lambda a, s: self.idn),
            ("*RST", lambda a, s: self.reset()),
            ("*CLS", lambda a, s: self._cls()),
            ("*OPC?", lambda a, s: "1"),
            ("*ESE", lambda a, s: self._set_reg("ese", a)),
            ("*ESE?", lambda a, s: str(self.ese)),
            ("*SRE", lambda a, s: self._set_reg("sre", a)),
            ("*SRE?", lambda a, s: str(self.sre)),
            ("*STB?", lambda a, s: str(self.status_byte())),
            ("*TST?", lambda a, s: "0"),
            ("*TRG", lambda a, s: self.trigger()),
            ("*OPC", lambda a, s: None),
            ("*WAI", lambda a, s: None),
            ("*ESR?", lambda a, s: self._read_esr()),
            ("[:SYSTem]:ERRor[:NEXT]?", lambda a, s: self.next_error()),
            ("[:SYSTem]:ERRor:COUNt?", lambda a, s: str(len(self.errors))),
            (":SYSTem:ERRor:ALL?", lambda a, s: self._all_errors()),
            (":SYSTem:ERRor:CODE[:NEXT]?", lambda a, s: self.next_error().split(",", 1)[0]),
            (":SYSTem:VERSion?", lambda a, s: "1999.0"),
        ]

    def trigger(self) -> None:
        """``*TRG``: a bus trigger (the devices that wait for one override this)."""

    def _set_reg(self, name: str, a: list[str]) -> None:
        setattr(self, name, round(parse_number(a[0] if a else None, low=0, high=255)))

    def status_byte(self) -> int:
        """``*STB?``: bit 2 error/event queue not empty, bit 5 a standard event enabled by ``*ESE``, bit 6 any
        bit enabled by ``*SRE`` (MSS)."""
        stb = (4 if self.errors else 0) | (32 if self.esr & self.ese else 0)
        return stb | (64 if stb & self.sre else 0)

    def _all_errors(self) -> str:
        out = []
        while self.errors:
            out.append(self.next_error())
        return ",".join(out) if out else '0,"No error"'

    def _cls(self) -> None:
        self.errors.clear()
        self.esr = 0

    def _read_esr(self) -> str:
        v, self.esr = self.esr, 0
        return str(v)

    def next_error(self) -> str:
        if not self.errors:
            return '0,"No error"'
        _code, text = self.errors.popleft()
        return text

    def push_error(self, err: ScpiError) -> None:
        self.esr |= 32 if -199 <= err.code <= -100 else 16 if -299 <= err.code <= -200 else 8 if err.code > 0 else 4
        if len(self.errors) >= self.error_queue_size:
            self.errors[-1] = (-350, str(ScpiError(-350)))
            return
        self.errors.append((err.code, str(err)))

    # dispatch ------------------------------------------------------------------------------------------
    def _lookup(self, header: str) -> tuple[Handler, tuple[str, ...]] | None:
        hit = self._cache.get(header, ())
        if hit != ():
            return hit  # type: ignore[return-value]
        found: tuple[Handler, tuple[str, ...]] | None = None
        for regex, handler in self._table:
            m = regex.match(header)
            if m is not None:
                found = (handler, tuple(g or "" for g in m.groups()))
                break
        if len(self._cache) < 4096:
            self._cache[header] = found
        return found

    def handle(self, message: str) -> str | None:
        """Execute one program message; return the response message (queries joined by ``;``) or None."""
        if self.on_message is not None:
            self.on_message()
        fast = self._fast.get(message)
        if fast is not None:  # a lone header without parameters seen before (*IDN?, settings queries)
            try:
                return fast[0]([], fast[1])
            except ScpiError as err:
                self.push_error(err)
                return None
        if len(self._fast) < 4096 and not any(c in message for c in _NOT_LONE):
            head = message.upper()
            found = self._lookup(head if head.startswith((":", "*")) else ":" + head)
            if found is not None:
                self._fast[message] = found
        replies: list[str] = []
        path = ""
        for unit in split_units(message):
            head, _, rest = unit.partition(" ")
            head = head.upper()
            if head.startswith(":*"):  # a common command after a path separator (``*RST;:*CLS``): no path
                head = head[1:]
            if not head.startswith("*"):
                full = head if head.startswith(":") else path + ":" + head
                path = full.rsplit(":", 1)[0]
                head = full
            found = self._lookup(head)
            try:
                if found is None:
                    raise ScpiError(-113, unit.partition(" ")[0])
                handler, suffixes = found
                reply = handler(split_args(rest), suffixes)
            except ScpiError as err:
                self.push_error(err)
                continue
            if reply is not None:
                replies.append(reply)
        return ";".join(replies) if replies else None
