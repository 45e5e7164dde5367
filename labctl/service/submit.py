"""Request models for job submission, built from the protocol registry at start-up.

``POST /jobs`` takes one of ``{protocol: "<name>", bench, crossbar, params: <that protocol's params model>}``,
a union discriminated by ``protocol``; the OpenAPI document therefore carries each protocol's parameter schema
(with its ranges), and a bad parameter gets a 422 whose ``loc`` names it. ``POST /trainer/jobs`` does the same
for training and sync jobs, discriminated by ``kind``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from labctl.service.config import NAME_PATTERN


def _literal(values: list[str]) -> Any:
    return Literal[tuple(values)]


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_"))


def protocol_job_model(protocols: dict[str, type[BaseModel]], benches: list[str]) -> Any:
    """The body type of ``POST /jobs``: a discriminated union, one variant per protocol."""
    bench_t = _literal(benches)
    variants: list[type[BaseModel]] = []
    for name, params_model in sorted(protocols.items()):
        variants.append(
            create_model(
                f"{_camel(name)}Job",
                __config__=ConfigDict(extra="forbid"),
                __doc__=f"Run protocol {name!r} on a bench.",
                protocol=(_literal([name]), Field(description="Protocol name")),
                bench=(bench_t, Field(description="Bench to run on (GET /benches)")),
                crossbar=(str | None, Field(default=None, pattern=NAME_PATTERN,
                                            description="Crossbar of that bench; null = its first")),
                params=(params_model, Field(description=f"Parameters of {name!r}, as for `labctl run`")),
            )
        )
    return _union(variants, "protocol")


def offloop_job_model(kinds: dict[str, type[BaseModel]]) -> Any:
    """The body type of ``POST /trainer/jobs``: one variant per training/sync job kind."""
    variants = [
        create_model(
            f"{_camel(kind)}Job",
            __config__=ConfigDict(extra="forbid"),
            __doc__=f"A {kind!r} job (runs off the event loop).",
            kind=(_literal([kind]), Field(description="Job kind")),
            params=(model, Field(description=f"Parameters of a {kind!r} job")),
        )
        for kind, model in sorted(kinds.items())
    ]
    return _union(variants, "kind")


def _union(variants: list[type[BaseModel]], key: str) -> Any:
    if len(variants) == 1:
        return variants[0]
    return Annotated[Union[tuple(variants)], Field(discriminator=key)]  # noqa: UP007
