"""Settable parameters as data: one declaration registers the command and its query, so every setting reads
back, and the numeric ones take MIN/MAX/DEF (also as query arguments: ``:SOUR:VOLT? MAX``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping, Sequence
from typing import Any

from sim_instruments.scpi._grammar import ScpiError, parse_bool, parse_number

Handler = Callable[[list[str], tuple[str, ...]], "str | None"]
Entry = tuple[str, Handler]
Store = MutableMapping[str, Any]
"""Where settings live: ``store[key]``; a key may hold ``{}`` (the numeric suffix, e.g. the channel)."""


class Fields(MutableMapping[str, Any]):
    """Settings kept in another object's attributes: ``keys[name]`` -> (object, attribute); ``name`` may hold
    ``{}`` (the channel), looked up in ``keys`` after formatting (e.g. ``level1`` -> the channel's level)."""

    def __init__(self, keys: dict[str, tuple[object, str]]) -> None:
        self.keys_ = keys

    def _find(self, key: str) -> tuple[object, str]:
        try:
            return self.keys_[key]
        except KeyError:
            raise ScpiError(-114, key) from None

    def __getitem__(self, key: str) -> Any:
        obj, attr = self._find(key)
        return getattr(obj, attr)

    def __setitem__(self, key: str, value: Any) -> None:
        obj, attr = self._find(key)
        setattr(obj, attr, value)

    def __delitem__(self, key: str) -> None:
        raise TypeError("settings cannot be deleted")

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys_)

    def __len__(self) -> int:
        return len(self.keys_)


def fmt_num(v: float) -> str:
    """A number as the SMUs return it (``+1.000000E-03``)."""
    return f"{v:+.6E}"


def _key(key: str, s: tuple[str, ...]) -> str:
    return key.format(*(x or "1" for x in s)) if "{" in key else key


def _first(a: list[str]) -> str | None:
    return a[0] if a else None


def number(pattern: str, store: Store, key: str, *, low: float, high: float, default: float,
           snap: Callable[[float], float] | None = None, on_set: Callable[[tuple[str, ...]], None] | None = None,
           fmt: Callable[[float], str] = fmt_num) -> list[Entry]:
    """A numeric setting in [low, high] (MIN/MAX/DEF); ``snap`` maps the value to what the instrument keeps
    (e.g. the range that holds it); ``on_set`` runs after a change (e.g. autorange off)."""

    def put(a: list[str], s: tuple[str, ...]) -> None:
        if len(a) > 1:
            raise ScpiError(-108, ",".join(a[1:]))
        v = parse_number(_first(a), low=low, high=high, default=default)
        store[_key(key, s)] = snap(v) if snap else v
        if on_set is not None:
            on_set(s)

    def get(a: list[str], s: tuple[str, ...]) -> str:
        if a:
            word = a[0].upper()
            if word.startswith("MIN"):
                return fmt(low)
            if word.startswith("MAX"):
                return fmt(high)
            if word.startswith("DEF"):
                return fmt(default)
            raise ScpiError(-224, a[0])
        return fmt(float(store[_key(key, s)]))

    return [(pattern, put), (pattern + "?", get)]


def boolean(pattern: str, store: Store, key: str, *, on_set: Callable[[tuple[str, ...]], None] | None = None
            ) -> list[Entry]:
    """An ON/OFF (1/0) setting; the query answers 1 or 0."""

    def put(a: list[str], s: tuple[str, ...]) -> None:
        store[_key(key, s)] = parse_bool(_first(a))
        if on_set is not None:
            on_set(s)

    return [(pattern, put), (pattern + "?", lambda a, s: "1" if store[_key(key, s)] else "0")]


def keyword_value(arg: str | None, words: Sequence[str]) -> str:
    """Match ``arg`` (quotes stripped) to one of ``words`` given in SCPI case (``VOLTage``): long or short form.
    Returns the short form in capitals; -109 if missing, -224 if none matches."""
    if arg is None or arg == "":
        raise ScpiError(-109)
    text = arg.strip().strip("\"'").upper()
    for w in words:
        short = "".join(c for c in w if not c.islower())
        if text in (w.upper(), short.upper()):
            return short.upper()
    raise ScpiError(-224, arg)


def choice(pattern: str, store: Store, key: str, words: Sequence[str], *, quoted: bool = False,
           check: Callable[[str, tuple[str, ...]], None] | None = None) -> list[Entry]:
    """A keyword setting (long or short form); the query answers the short form (in quotes if ``quoted``).
    ``check(value, suffixes)`` may refuse a value the instrument cannot take now (raising a ScpiError)."""

    def put(a: list[str], s: tuple[str, ...]) -> None:
        value = keyword_value(_first(a), words)
        if check is not None:
            check(value, s)
        store[_key(key, s)] = value

    def get(a: list[str], s: tuple[str, ...]) -> str:
        v = str(store[_key(key, s)])
        return f'"{v}"' if quoted else v

    return [(pattern, put), (pattern + "?", get)]


def integer(pattern: str, store: Store, key: str, *, low: int, high: int, default: int) -> list[Entry]:
    """An integer setting (MIN/MAX/DEF); the query answers the integer."""
    return number(pattern, store, key, low=low, high=high, default=default, snap=lambda v: float(round(v)),
                  fmt=lambda v: str(round(v)))


def snap_up(ranges: Sequence[float]) -> Callable[[float], float]:
    """The smallest of ``ranges`` that holds a value (a range setting: the instrument picks the range)."""

    def snap(v: float) -> float:
        return next((r for r in ranges if abs(v) <= r * (1 + 1e-9)), ranges[-1])

    return snap
