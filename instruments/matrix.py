"""Switch-matrix shell: routing by difference, forbidden states, relay verification.

``route(target)`` moves the relays from the present state to exactly ``target`` in one message that also asks
the instrument which of the changed crosspoints are closed (one round trip; it also orders the switching before
anything the caller sends next). Forbidden, raised as ``LimitError`` before anything is sent:

* two inputs on one output (two sources on one line);
* switching a crosspoint whose input is live (an SMU output that may be on: hot switching).

A relay that does not end where it was told raises ``InstrumentError`` (stuck relay).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from instruments._base import ScpiInstrument
from labctl.core.errors import InstrumentError, LimitError
from labctl.core.matrix_models import MatrixModel

Point = tuple[int, int]  # (input, output), 1-based


class MatrixDriver(ScpiInstrument):
    model: MatrixModel  # the model's physical limits (cards, slots, inputs), checked by the bench config
    inputs = 14
    outputs = 12

    def __init__(self, *args: object, cards: int = 1, outputs_per_card: int = 12, inputs: int = 14,
                 **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.cards, self.per_card = cards, outputs_per_card
        self.inputs, self.outputs = inputs, cards * outputs_per_card
        self.state: set[Point] = set()
        self.live_inputs: Callable[[], set[int]] = set

    # --- message builders (subclasses) --------------------------------------------------------------
    def _route_message(self, opens: list[Point], closes: list[Point], verify: list[Point]) -> str:
        raise NotImplementedError

    def _parse_verify(self, reply: str, verify: list[Point]) -> set[Point]:
        """The subset of ``verify`` the instrument reports closed."""
        raise NotImplementedError

    def _open_all_message(self) -> str:
        raise NotImplementedError

    # --- checks -----------------------------------------------------------------------------------------
    def _check_points(self, points: Iterable[Point]) -> None:
        for inp, out in points:
            if not (1 <= inp <= self.inputs and 1 <= out <= self.outputs):
                raise LimitError(f"{self.name}: crosspoint (input {inp}, output {out}) is out of range; allowed "
                                 f"inputs [1, {self.inputs}], outputs [1, {self.outputs}]", field="crosspoint")

    def check_target(self, target: set[Point]) -> tuple[list[Point], list[Point]]:
        """Validate a target state; return (opens, closes). Raises ``LimitError``."""
        self._check_points(target)
        seen: dict[int, int] = {}
        for inp, out in sorted(target):
            if out in seen and seen[out] != inp:
                raise LimitError(f"{self.name}: output {out} would connect inputs {seen[out]} and {inp} "
                                 "(two sources on one line)", field="crosspoint")
            seen[out] = inp
        opens = sorted(self.state - target)
        closes = sorted(target - self.state)
        live = self.live_inputs()
        hot = sorted({i for i, _ in opens + closes} & live)
        if hot:
            raise LimitError(f"{self.name}: switching would hot-switch input(s) {hot} (source output on)",
                             field="crosspoint")
        return opens, closes

    # --- operations ---------------------------------------------------------------------------------------
    async def route(self, target: set[Point]) -> int:
        """Make ``target`` the closed set; returns the number of relays moved."""
        opens, closes = self.check_target(set(target))
        if not opens and not closes:
            return 0
        verify = opens + closes
        message = self._route_message(opens, closes, verify)
        reply = ""
        try:
            reply = await self._query(message, safe=False)
            closed = self._parse_verify(reply, verify)
        except ValueError as exc:
            self.state = set(self.state) | set(closes)  # unknown: assume the worst for the hot-switch rule
            raise InstrumentError(f"{self.name}: garbled relay readback: unexpected reply {reply[:80]!r} to "
                                  f"{message[:120]!r} ({exc})") from exc
        except BaseException:
            self.state = set(self.state) | set(closes)
            raise
        new_state = (self.state - set(opens)) | set(closes)
        wrong = sorted(p for p in verify if (p in closed) != (p in new_state))
        self.state = (new_state - {p for p in wrong if p not in closed}) | {p for p in wrong if p in closed}
        if wrong:
            desc = ", ".join(f"(input {i}, output {o}) {'closed' if (i, o) in closed else 'open'}"
                             for i, o in wrong[:6])
            raise InstrumentError(f"{self.name}: stuck relay(s): {desc} after switching")
        return len(verify)

    async def close(self, crosspoints: Iterable[Point]) -> None:
        await self.route(self.state | set(crosspoints))

    async def open(self, crosspoints: Iterable[Point]) -> None:
        await self.route(self.state - set(crosspoints))

    async def open_all(self) -> None:
        await self._query(self._open_all_message())
        self.state = set()

    async def closed(self) -> frozenset[Point]:
        raise NotImplementedError

    async def configure(self) -> None:
        await self.identify()
        await self.open_all()

    async def safe_state(self) -> None:
        await self.open_all()
