"""Protocol parameters as a user reads them: name, type, default, allowed range and description (with unit).

Read from the pydantic parameter models, so ``labctl protocols NAME``, the misspelt-key error and the service's
schema say the same thing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel
from pydantic.fields import FieldInfo


@dataclass(frozen=True)
class ParamInfo:
    name: str
    type: str
    default: str
    range: str
    description: str


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) if not getattr(annotation, "__args__", None) else None
    text = text or str(annotation).replace("typing.", "")
    return text.replace("NoneType", "None")


def _range(info: FieldInfo) -> str:
    lo: Any = None
    hi: Any = None
    lo_incl = hi_incl = True
    for m in info.metadata:
        if isinstance(m, Ge):
            lo = m.ge
        elif isinstance(m, Gt):
            lo, lo_incl = m.gt, False
        elif isinstance(m, Le):
            hi = m.le
        elif isinstance(m, Lt):
            hi, hi_incl = m.lt, False
    if lo is None and hi is None:
        return ""
    left = "[" if lo_incl and lo is not None else "("
    right = "]" if hi_incl and hi is not None else ")"
    lo_s = "-inf" if lo is None else f"{lo:g}"
    hi_s = "+inf" if hi is None or (isinstance(hi, float) and math.isinf(hi)) else f"{hi:g}"
    return f"{left}{lo_s}, {hi_s}{right}"


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "(required)"
    value = info.get_default(call_default_factory=True)
    return "-" if value is None else str(getattr(value, "value", value))


def param_infos(model: type[BaseModel]) -> list[ParamInfo]:
    """Every parameter of ``model``, in declaration order."""
    return [ParamInfo(name, _type_name(info.annotation), _default(info), _range(info), info.description or "")
            for name, info in model.model_fields.items()]


def param_names(model: type[BaseModel]) -> list[str]:
    return list(model.model_fields)
