"""Checks of a bench's ``sim:`` section against the physics: every error at once, each with its path.

``sim_errors(sim)`` returns a list of one-line messages (``sim.preset``, ``sim.params.<name>``,
``sim.nonideal.<name>``) naming the value and what is allowed; ``check_sim(config, source)`` raises one
``ConfigError`` that lists them. ``build_crossbars`` calls it, so no bench is built from a section that would fail
later with a raw ``KeyError`` or ``TypeError``.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from labctl.core.config import BenchConfig, SimConfig
from labctl.core.errors import ConfigError
from sim_instruments.physics.nonideal import NonIdealities
from sim_instruments.physics.params import StanfordParams
from sim_instruments.presets import PRESETS


def _names(cls: Any) -> list[str]:
    return [f.name for f in fields(cls)]


def _try(path: str, build: Any) -> str | None:
    try:
        build()
    except ConfigError as exc:
        msg = str(exc)
        return f"{path}.{msg}" if exc.field and msg.startswith(exc.field) else f"{path}: {msg}"
    except (TypeError, ValueError) as exc:
        return f"{path}: {exc}"
    return None


def sim_errors(sim: SimConfig) -> list[str]:
    """Every problem of the ``sim`` section (empty when the physics can be built from it)."""
    errors: list[str] = []
    base = PRESETS.get(sim.preset.lower())
    if base is None:
        errors.append(f"sim.preset = {sim.preset!r} is invalid; allowed: {', '.join(PRESETS)}")
        base = StanfordParams()
    param_names = [n for n in _names(StanfordParams) if n != "source"]
    known_params = {k: v for k, v in sim.params.items() if k in param_names}
    for key in sim.params:
        if key not in param_names:
            errors.append(f"sim.params.{key}: unknown parameter; allowed: {', '.join(param_names)}")
    bad = [e for k, v in known_params.items() if (e := _try("sim.params", lambda k=k, v=v: base.with_(**{k: v})))]
    errors += bad
    if not bad and known_params:  # each alone is fine; the combination may still be (gap_min >= gap_max, ...)
        err = _try("sim.params", lambda: base.with_(**known_params))
        errors += [err] if err else []
    ni_names = _names(NonIdealities)
    known_ni: dict[str, Any] = {}
    for key, value in sim.nonideal.items():
        if key not in ni_names:
            errors.append(f"sim.nonideal.{key}: unknown non-ideality; allowed: {', '.join(ni_names)}")
        else:
            known_ni[key] = tuple(value) if key == "d2d_fields" and isinstance(value, list) else value
    bad = [e for k, v in known_ni.items() if (e := _try("sim.nonideal", lambda k=k, v=v: NonIdealities(**{k: v})))]
    errors += bad
    if not bad and known_ni:
        err = _try("sim.nonideal", lambda: NonIdealities(**known_ni))
        errors += [err] if err else []
    return errors


def check_sim(config: BenchConfig, source: str = "<config>") -> None:
    """Raise one ``ConfigError`` listing every error of ``config.sim`` (nothing to check on a real bench)."""
    if config.sim is None:
        return
    errors = sim_errors(config.sim)
    if errors:
        raise ConfigError(f"{source}: {len(errors)} error(s)\n" + "\n".join(errors), field="sim")
