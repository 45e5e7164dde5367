"""SCPI grammar pieces: header patterns, message splitting and parameter parsing."""

from __future__ import annotations

import re

ERRORS = {
    -100: "Command error",
    -102: "Syntax error",
    -104: "Data type error",
    -108: "Parameter not allowed",
    -109: "Missing parameter",
    -113: "Undefined header",
    -114: "Header suffix out of range",
    -221: "Settings conflict",
    -222: "Data out of range",
    -224: "Illegal parameter value",
    -230: "Data corrupt or stale",
    -350: "Queue overflow",
    -410: "Query INTERRUPTED",
    803: "Output not on",
}


class ScpiError(Exception):
    """A standard SCPI error: ``code`` and its message (plus detail)."""

    def __init__(self, code: int, detail: str = "") -> None:
        self.code = code
        text = ERRORS.get(code, "Error")
        super().__init__(f'{code},"{text}{"; " + detail if detail else ""}"')


def compile_header(pattern: str) -> re.Pattern[str]:
    """``[:SOURce#]:VOLTage[:LEVel]`` -> a regex over upper-cased headers; ``#`` = optional numeric suffix
    (captured), ``[...]`` = optional node. Each mnemonic matches its short form (the capitals) or its long form."""
    if pattern.startswith("*"):
        return re.compile("^" + re.escape(pattern.upper()) + "$")
    parts: list[str] = []
    is_query = pattern.endswith("?")
    pattern = pattern.rstrip("?")
    for node in re.finditer(r"\[:?[A-Za-z*]+#?\]|:?[A-Za-z*]+#?", pattern):
        tok = node.group(0)
        optional = tok.startswith("[")
        tok = tok.strip("[]").lstrip(":")
        suffix = tok.endswith("#")
        tok = tok.rstrip("#")
        short = "".join(c for c in tok if c.isupper() or c == "*")
        alt = re.escape(short) if short == tok.upper() else f"(?:{re.escape(tok.upper())}|{re.escape(short)})"
        body = ":" + alt + (r"(\d*)" if suffix else "")
        parts.append(f"(?:{body})?" if optional else body)
    regex = "".join(parts) + (r"\?" if is_query else "")
    return re.compile("^" + regex + "$")


def split_units(message: str) -> list[str]:
    """Split a program message on ``;`` outside quotes and parentheses."""
    return [u for u in (x.strip() for x in _split_outside(message, ";")) if u]


def split_args(text: str) -> list[str]:
    """Split parameters on ``,`` outside quotes and parentheses."""
    if not text.strip():
        return []
    return [x.strip() for x in _split_outside(text, ",")]


def _split_outside(text: str, sep: str) -> list[str]:
    """The pieces of ``text`` between the ``sep`` characters outside quotes and parentheses (not stripped)."""
    if '"' not in text and "'" not in text and "(" not in text:  # the common case: no scan
        return text.split(sep)
    pieces: list[str] = []
    depth = 0
    quote = ""
    start = 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == sep and depth == 0:
            pieces.append(text[start:i])
            start = i + 1
    pieces.append(text[start:])
    return pieces


_KEYWORDS = {"MIN", "MINIMUM", "MAX", "MAXIMUM", "DEF", "DEFAULT"}


def parse_number(arg: str | None, *, low: float, high: float, default: float | None = None) -> float:
    """A numeric parameter (with MIN/MAX/DEF); -109 if missing, -104 if not a number, -222 if out of range."""
    if arg is None or arg == "":
        raise ScpiError(-109)
    word = arg.upper()
    if word in _KEYWORDS:
        if word.startswith("MIN"):
            return low
        if word.startswith("MAX"):
            return high
        return low if default is None else default
    try:
        value = float(arg)
    except ValueError:
        raise ScpiError(-104, arg) from None
    if not low <= value <= high:
        raise ScpiError(-222, f"{value:g} not in [{low:g}, {high:g}]")
    return value


def parse_bool(arg: str | None) -> bool:
    if arg is None or arg == "":
        raise ScpiError(-109)
    word = arg.upper()
    if word in ("1", "ON"):
        return True
    if word in ("0", "OFF"):
        return False
    raise ScpiError(-224, arg)


_RANGE = re.compile(r"^(\d)(\d\d)(\d\d)$")


def channel_list(arg: str | None) -> list[tuple[int, int, int]]:
    """``(@10101,10203:10205)`` -> [(card, input, output), ...]; a range spans the card/input/output rectangle."""
    if arg is None or arg == "":
        raise ScpiError(-109)
    text = arg.strip()
    if not (text.startswith("(@") and text.endswith(")")):
        raise ScpiError(-104, arg)
    out: list[tuple[int, int, int]] = []
    for item in text[2:-1].split(","):
        item = item.strip()
        if not item:
            continue
        lo, _, hi = item.partition(":")
        a, b = _RANGE.match(lo.strip()), _RANGE.match((hi or lo).strip())
        if a is None or b is None:
            raise ScpiError(-224, item)
        (c0, i0, o0), (c1, i1, o1) = (tuple(int(x) for x in m.groups()) for m in (a, b))
        for c in range(min(c0, c1), max(c0, c1) + 1):
            for i in range(min(i0, i1), max(i0, i1) + 1):
                out.extend((c, i, o) for o in range(min(o0, o1), max(o0, o1) + 1))
    return out


def int_list(arg: str | None, low: int, high: int) -> list[int]:
    """``(@1,2)`` or ``(@1:2)`` -> [1, 2] (SMU channel lists)."""
    if arg is None or not arg.strip().startswith("(@"):
        raise ScpiError(-104, str(arg))
    out: list[int] = []
    for item in arg.strip()[2:-1].split(","):
        lo, _, hi = item.strip().partition(":")
        try:
            a, b = int(lo), int(hi or lo)
        except ValueError:
            raise ScpiError(-224, item) from None
        if not (low <= a <= high and low <= b <= high):
            raise ScpiError(-222, item)
        out.extend(range(a, b + 1))
    return out
