"""Simulated Keysight B2201A-style SCPI switch matrix: channels ``(@cioo)`` (card, input, output on card)."""

from __future__ import annotations

from sim_instruments.bench import SimBench
from sim_instruments.scpi import ScpiDevice, ScpiError, channel_list


class SimB2201A(ScpiDevice):
    idn = "Agilent Technologies,B2201A,MY00000002,1.0"

    def __init__(self, bench: SimBench, name: str) -> None:
        self.bench, self.name = bench, name
        cfg = bench.config.instruments[name]
        self.cards, self.per_card, self.n_inputs = cfg.cards, cfg.outputs_per_card, cfg.inputs
        super().__init__()
        self.on_message = lambda: bench.advance(bench.timing.command)

    @property
    def state(self) -> set[tuple[int, int]]:
        return self.bench.matrices[self.name].closed

    def reset(self) -> None:
        self.bench.switch(self.name, sorted(self.state), close=False)

    def _points(self, arg: str | None) -> list[tuple[int, int]]:
        out = []
        for card, inp, o in channel_list(arg):
            if not (1 <= card <= self.cards and 1 <= inp <= self.n_inputs and 1 <= o <= self.per_card):
                raise ScpiError(-222, f"channel {card}{inp:02d}{o:02d}")
            out.append((inp, (card - 1) * self.per_card + o))
        return out

    def _spec(self, point: tuple[int, int]) -> str:
        inp, out = point
        card, o = divmod(out - 1, self.per_card)
        return f"{card + 1}{inp:02d}{o + 1:02d}"

    def commands(self) -> list[tuple[str, object]]:  # type: ignore[override]
        def close(a: list[str], s: tuple[str, ...]) -> None:
            self.bench.switch(self.name, self._points(a[0] if a else None), close=True)

        def open_(a: list[str], s: tuple[str, ...]) -> None:
            self.bench.switch(self.name, self._points(a[0] if a else None), close=False)

        def open_card(a: list[str], s: tuple[str, ...]) -> None:
            word = (a[0] if a else "").upper()
            if word == "ALL":
                pts = sorted(self.state)
            elif word.isdigit() and 1 <= int(word) <= self.cards:
                c = int(word)
                pts = [p for p in self.state if (p[1] - 1) // self.per_card + 1 == c]
            else:
                raise ScpiError(-224 if word else -109, word)
            self.bench.switch(self.name, pts, close=False)

        def closed_q(a: list[str], s: tuple[str, ...]) -> str:
            return ",".join("1" if p in self.state else "0" for p in self._points(a[0] if a else None))

        def open_q(a: list[str], s: tuple[str, ...]) -> str:
            return ",".join("0" if p in self.state else "1" for p in self._points(a[0] if a else None))

        def card_q(a: list[str], s: tuple[str, ...]) -> str:
            word = (a[0] if a else "0").upper()
            pts = sorted(self.state, key=lambda p: (p[1], p[0]))
            if word not in ("0", "ALL"):
                c = int(word) if word.isdigit() else -1
                if not 1 <= c <= self.cards:
                    raise ScpiError(-222, word)
                pts = [p for p in pts if (p[1] - 1) // self.per_card + 1 == c]
            return "(@" + ",".join(self._spec(p) for p in pts) + ")"

        def noop(a: list[str], s: tuple[str, ...]) -> None:
            return None

        return [
            ("[:ROUTe]:CLOSe[:LIST]", close),
            ("[:ROUTe]:CLOSe[:LIST]?", closed_q),
            ("[:ROUTe]:OPEN[:LIST]", open_),
            ("[:ROUTe]:OPEN[:LIST]?", open_q),
            ("[:ROUTe]:OPEN:CARD", open_card),
            ("[:ROUTe]:CLOSe:CARD?", card_q),
            ("[:ROUTe]:CONNection:RULE", noop),
            ("[:ROUTe]:CONNection:SEQuence", noop),
            ("[:ROUTe]:FUNCtion", noop),
        ]
