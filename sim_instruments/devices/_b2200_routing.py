"""The routing rules of a Keysight B2200-family mainframe (B2201A with B2211A cards), without I/O.

* Channel configuration: normal (``NCON``: cards addressed by slot 1..4, outputs 1..12 on each; channel
  ``cIIOO``) or auto (``ACON``: the installed cards form one card 0 with outputs 1..12*cards; channel ``0IIOO``).
  Every per-card setting below exists once per card in normal config and once (card 0) in auto config.
* Connection rule: ``FREE`` (any input to any output) or ``SROU`` (single route: a new connection releases the
  connections of its input and of its output on the same card; in auto config the cards are one card).
* Connection sequence of those releases: ``NSEQ`` (open and close in one step), ``BBM`` (break before make) or
  ``MBBR`` (make before break).
* Bias mode: every bias-enabled output without a connection is connected to the bias port (input 10 at reset);
  ground mode: every ground-enabled output without a connection to the ground port (input 12 at reset), whose
  inner conductor the instrument grounds (port 12 or 13). The two modes exclude each other; neither port can be
  named in a connection. Couple mode joins input pairs (odd, odd+1) onto output pairs (odd, odd+1).

A request returns relay *events*: ``(points, close, settle)`` steps in the order the relays move; ``settle``
False joins a step to the next one (no wait between them: ``NSEQ``). Points are
``(input, output)`` with outputs numbered card-major (card c output o is ``(c-1)*12 + o``) in both modes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sim_instruments.scpi import ScpiError

Point = tuple[int, int]
Event = tuple[list[Point], bool, bool]  # (crosspoints, close, then wait for the relays to settle)
PER_CARD = 12
N_INPUTS = 14
BIAS_PORT_ERROR = (3014, "Cannot directly specify Bias Port channel")
GROUND_PORT_ERROR = (3022, "Cannot directory specify Auto Ground Port channel")  # sic: the firmware's text


class DeviceError(ScpiError):
    """A B2200 device-dependent error (positive code, the instrument's own text)."""

    def __init__(self, code: int, text: str) -> None:
        Exception.__init__(self, f'+{code},"{text}"')
        self.code = code


@dataclass
class CardSettings:
    """Per-card (normal config) or whole-mainframe (auto config) settings; defaults are the *RST state."""

    outputs: range
    rule: str = "FREE"
    sequence: str = "BBM"
    bias: bool = False
    bias_port: int = 10
    bias_enabled: set[int] = field(default_factory=set)
    ground: bool = False
    ground_port: int = 12
    ground_enabled: set[int] = field(default_factory=set)
    unused: list[int] = field(default_factory=list)
    couple: bool = False
    couple_ports: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.bias_enabled = set(self.outputs)  # every output is bias-enabled at reset


class B2200Routing:
    """Mode, per-card settings and the connections a program asked for (``user``); ``closed()`` adds the
    automatic bias/ground connections."""

    def __init__(self, cards: int, config: str = "ACON") -> None:
        self.cards = cards
        self.config = config
        self.user: set[Point] = set()
        self.settings: dict[int, CardSettings] = {}
        self.reset()

    # --- state --------------------------------------------------------------------------------------------
    def reset(self) -> None:
        """*RST: connections released, per-card settings to defaults; the configuration mode is kept."""
        self.user = set()
        if self.config == "ACON":
            self.settings = {0: CardSettings(range(1, self.cards * PER_CARD + 1))}
        else:
            self.settings = {c: CardSettings(range((c - 1) * PER_CARD + 1, c * PER_CARD + 1))
                             for c in range(1, self.cards + 1)}

    def set_config(self, mode: str) -> None:
        if mode != self.config:
            self.config = mode
            self.reset()

    def card_keys(self, word: str, *, allow_all: bool) -> list[int]:
        """Card parameter -> setting keys: ``0`` in auto config, ``1..cards`` in normal config, ``ALL``."""
        w = word.strip().upper()
        if w == "ALL" and allow_all:
            return sorted(self.settings)
        if not w.lstrip("+").isdigit():
            raise ScpiError(-224 if w else -109, word)
        c = int(w)
        if c not in self.settings:
            allowed = "0" if self.config == "ACON" else f"1..{self.cards}"
            raise ScpiError(-222, f"card {c}; allowed {allowed} in {self.config} mode")
        return [c]

    def key_of(self, output: int) -> int:
        return 0 if self.config == "ACON" else (output - 1) // PER_CARD + 1

    def settings_of(self, output: int) -> CardSettings:
        return self.settings[self.key_of(output)]

    # --- channel numbers ----------------------------------------------------------------------------------
    def point(self, card: int, inp: int, out: int) -> Point:
        """A channel number's crosspoint; -222 for a number that does not exist in the present mode."""
        if self.config == "ACON":
            ok, n_out = card == 0, self.cards * PER_CARD
        else:
            ok, n_out = 1 <= card <= self.cards, PER_CARD
        if not (ok and 1 <= inp <= N_INPUTS and 1 <= out <= n_out):
            raise ScpiError(-222, f"channel {card}{inp:02d}{out:02d} in {self.config} mode")
        return (inp, out if self.config == "ACON" else (card - 1) * PER_CARD + out)

    def channel(self, p: Point) -> str:
        inp, out = p
        if self.config == "ACON":
            return f"0{inp:02d}{out:02d}"
        c, o = divmod(out - 1, PER_CARD)
        return f"{c + 1}{inp:02d}{o + 1:02d}"

    # --- requests -----------------------------------------------------------------------------------------
    def _check_user(self, points: list[Point]) -> list[Point]:
        """Expand couple pairs; refuse bias/ground/unused ports (nothing moves on an error)."""
        out: list[Point] = []
        for inp, o in points:
            s = self.settings_of(o)
            if s.bias and inp == s.bias_port:
                raise DeviceError(*BIAS_PORT_ERROR)
            if s.ground and (inp == s.ground_port or inp in s.unused):
                raise DeviceError(*GROUND_PORT_ERROR)
            lo = inp - (inp + 1) % 2  # the odd input of its pair
            if s.couple and lo in s.couple_ports:
                o_lo = o - (o + 1) % 2
                out += [(lo, o_lo), (lo + 1, o_lo + 1)]
            else:
                out.append((inp, o))
        return out

    def close(self, points: list[Point], closed: set[Point]) -> list[Event]:
        """Connect ``points`` (``closed``: the relays closed now). Single-route releases and the automatic
        bias connections of the outputs follow each card's connection sequence (ground: always BBM)."""
        want = self._check_user(points)
        user = set(self.user)
        for inp, o in want:
            s = self.settings_of(o)
            if s.rule == "SROU":
                key = self.key_of(o)
                drop = {p for p in user if self.key_of(p[1]) == key and (p[0] == inp or p[1] == o) and p != (inp, o)}
                user -= drop
            user.add((inp, o))
        self.user = user
        target = self.closed_set()
        opens = sorted(closed - target)
        closes = sorted(target - closed)
        return _sequence(opens, closes, self._sequence_of(opens))

    def open(self, points: list[Point], closed: set[Point]) -> list[Event]:
        """Disconnect ``points``; outputs left without a connection fall back to bias/ground (after)."""
        self.user -= set(self._check_user(points))
        target = self.closed_set()
        return _sequence(sorted(closed - target), sorted(target - closed), "BBM")

    def open_cards(self, keys: list[int], closed: set[Point]) -> list[Event]:
        """Release every connection on the cards ``keys`` (bias/ground connections stay while their mode is on)."""
        self.user = {p for p in self.user if self.key_of(p[1]) not in keys}
        return self.settle(closed)

    def settle(self, closed: set[Point]) -> list[Event]:
        """Events that bring the relays to the present settings (after a mode or port change)."""
        target = self.closed_set()
        return _sequence(sorted(closed - target), sorted(target - closed), "BBM")

    def _sequence_of(self, opens: list[Point]) -> str:
        """The sequence of the releases: their card's; BBM when a ground connection is released or the cards
        disagree."""
        seqs = set()
        for inp, o in opens:
            s = self.settings_of(o)
            seqs.add("BBM" if s.ground and inp == s.ground_port else s.sequence)
        return seqs.pop() if len(seqs) == 1 else "BBM"

    def closed_set(self) -> set[Point]:
        """User connections plus the automatic bias/ground connections of the outputs without one."""
        out = set(self.user)
        used = {o for _, o in self.user}
        for s in self.settings.values():
            if s.bias:
                out |= {(s.bias_port, o) for o in s.bias_enabled if o not in used}
            elif s.ground:
                out |= {(s.ground_port, o) for o in s.ground_enabled if o not in used}
        return out

    def grounded_inputs(self) -> set[int]:
        """Inputs whose inner conductor the instrument ties to ground (ground mode on, port 12 or 13)."""
        return {s.ground_port for s in self.settings.values() if s.ground and s.ground_port in (12, 13)}


def _sequence(opens: list[Point], closes: list[Point], seq: str) -> list[Event]:
    """BBM: open, settle, close, settle; MBBR: close, settle, open, settle; NSEQ: open and close, settle once."""
    if seq == "MBBR":
        steps: list[Event] = [(closes, True, True), (opens, False, True)]
    else:
        steps = [(opens, False, seq != "NSEQ"), (closes, True, True)]
    return [e for e in steps if e[0]]
