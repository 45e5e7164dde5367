"""What the chip-loop and the full-loop jobs share: strict options and the layers' places on the crossbars."""

from __future__ import annotations

from typing import Any, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from labctl.core.errors import ConfigError


class JobOptions(BaseModel):
    """Options of a job: unknown keys rejected; :meth:`parse` turns a bad value into ``ConfigError``."""

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def parse(cls, **kw: Any) -> Self:
        """Validate; a bad value raises ``ConfigError`` naming the field, the value and the allowed range."""
        try:
            return cls(**kw)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(x) for x in err["loc"])
            raise ConfigError(f"{field} = {err.get('input')!r} is invalid: {err['msg']}", field=field) from None


def check_placement(placement: dict[str, tuple[str, int, int]], shapes: dict[str, tuple[int, ...]],
                    crossbars: Any) -> None:
    """Every layer has a place on a crossbar of the bench where its map fits."""
    for n, shape in shapes.items():
        if n not in placement:
            raise ConfigError.invalid("placement", sorted(placement), f"an entry for layer {n}")
        xb, r0, c0 = placement[n]
        if xb not in crossbars:
            raise ConfigError.invalid(f"placement.{n}", xb, ", ".join(crossbars))
        rows, cols = crossbars[xb].rows, crossbars[xb].cols
        if r0 + shape[0] > rows or c0 + shape[1] > cols:
            raise ConfigError.invalid(f"placement.{n}", (xb, r0, c0),
                                      f"an origin where the {shape[0]}x{shape[1]} map fits the {rows}x{cols} array")


def outcome_codes(status: np.ndarray) -> np.ndarray:
    """Outcome strings -> the trainer's status codes ('' = not programmed counts as pending)."""
    return np.where(status == "", "pending", status)


def sim_variant(cfg: Any, *, stuck_on: float = 0.0, stuck_off: float = 0.0, sim: dict[str, Any] | None = None) -> Any:
    """The bench config with stuck cells and physics overrides (``params.X`` / ``nonideal.X``) applied to its
    simulated chip; unchanged when none is asked; ``ConfigError`` on a real bench."""
    sim = sim or {}
    if not (stuck_on or stuck_off or sim):
        return cfg
    if cfg.sim is None:
        raise ConfigError.invalid("stuck/sim", (stuck_on, stuck_off, sim), "none on a real bench")
    params, nonideal = dict(cfg.sim.params), dict(cfg.sim.nonideal)
    if stuck_on or stuck_off:
        nonideal |= {"stuck_on": stuck_on, "stuck_off": stuck_off}
    for key, value in sim.items():
        section, _, name = key.partition(".")
        if section not in ("params", "nonideal") or not name:
            raise ConfigError.invalid("sim", key, "params.<StanfordParams field> or nonideal.<NonIdealities field>")
        (params if section == "params" else nonideal)[name] = value
    from labctl.core.config import parse_bench_config

    data = cfg.model_dump(mode="json")
    data["sim"] |= {"params": params, "nonideal": nonideal}
    return parse_bench_config(data, source="loop bench variant")
