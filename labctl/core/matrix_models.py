"""Physical limits of the switch-matrix models labctl drives: card types, inputs, outputs, slots per mainframe.

The data comes from the manufacturers' manuals and data sheets (``docs/instruments/``). It lives in
``labctl.core`` so that the bench config can refuse an impossible bench without importing a driver; each driver
declares its model by pointing at its entry (``MatrixDriver.model``). A mainframe's matrix is its cards side by
side: every card shares the mainframe's inputs (instrument side) and adds its own outputs (DUT side).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CardType:
    """A matrix card: ``inputs`` x ``outputs`` crosspoints."""

    name: str
    inputs: int
    outputs: int
    description: str


@dataclass(frozen=True)
class MatrixModel:
    """A switch-matrix mainframe: its slots and the cards it accepts."""

    driver: str
    model: str
    slots: int
    inputs: int  # instrument-side inputs of the mainframe (shared by its cards)
    cards: Mapping[str, CardType] = field(default_factory=dict)
    default_card: str = ""
    note: str = ""

    def card(self, name: str | None) -> CardType | None:
        """The card type ``name`` (the default card when None); None when the model does not take it."""
        return self.cards.get((name or self.default_card).upper())

    def describe(self) -> str:
        return f"{self.model} ({self.driver})"

    def check(self, path: str, card: str | None, cards: int, outputs_per_card: int, inputs: int) -> list[str]:
        """Errors (with ``path``, the model and its limit) of a mainframe declared with these fields."""
        errors: list[str] = []
        ctype = self.card(card)
        if ctype is None:
            errors.append(f"{path}.card = {card!r} is not a card of the {self.describe()}; allowed: "
                          f"{', '.join(self.cards)}")
            return errors
        if not 1 <= cards <= self.slots:
            errors.append(f"{path}.cards = {cards} is out of range for the {self.describe()}: it has "
                          f"{self.slots} slots; allowed [1, {self.slots}]")
        if outputs_per_card != ctype.outputs:
            errors.append(f"{path}.outputs_per_card = {outputs_per_card} is invalid for the {self.describe()}: a "
                          f"{ctype.name} card has {ctype.outputs} outputs ({ctype.description}); allowed: "
                          f"{ctype.outputs}")
        limit = min(self.inputs, ctype.inputs)
        if not 1 <= inputs <= limit:
            errors.append(f"{path}.inputs = {inputs} is out of range for the {self.describe()} with {ctype.name} "
                          f"cards: {limit} inputs; allowed [1, {limit}]")
        return errors


def _cards(*cards: CardType) -> dict[str, CardType]:
    return {c.name.upper(): c for c in cards}


KEYSIGHT_B2201A = MatrixModel(
    driver="keysight_b2201a",
    model="Keysight B2201A",
    slots=4,
    inputs=14,  # 8 SMU (triax) + 6 AUX (BNC) inputs
    cards=_cards(CardType("B2211A", 14, 12, "14 inputs x 12 outputs low-leakage matrix card")),
    default_card="B2211A",
    note="Up to four B2211A cards: 14 x 48 per mainframe. In auto-config mode the installed cards form one "
         "matrix with outputs 1..12*cards; in normal-config mode each card is addressed by its slot (1..4). "
         "Mainframes are not expanded into one another: a larger matrix is several mainframes, each on its own "
         "bus address, with the sources fed to the same input of every mainframe.",
)

KEITHLEY_707B = MatrixModel(
    driver="keithley_707b",
    model="Keithley 707B",
    slots=6,
    inputs=8,  # rows A..H, joined across the slots by the backplane
    cards=_cards(
        CardType("7174A", 8, 12, "8 x 12 low-current matrix card"),
        CardType("7072", 8, 12, "8 x 12 semiconductor matrix card"),
        CardType("7071", 8, 12, "8 x 12 general-purpose matrix card"),
    ),
    default_card="7174A",
    note="Six matrix cards of 8 rows x 12 columns: 8 x 72 per mainframe, rows shared through the backplane.",
)

MATRIX_MODELS: dict[str, MatrixModel] = {m.driver: m for m in (KEYSIGHT_B2201A, KEITHLEY_707B)}
"""Switch-matrix models by driver name."""
