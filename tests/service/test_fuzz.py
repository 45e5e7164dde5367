"""Fuzz the API from its own OpenAPI document (schemathesis): never a 5xx, responses match the document,
and every 4xx for bad input names the field to blame."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi import checks as oa

from tests.service.harness import serve_in_thread

EXAMPLES = 8  # per operation and mode: ~15 operations x 2 modes, a few seconds

@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    # a small queue: accepted fuzz jobs fill it, later submissions get 429; all are cancelled at shutdown
    with serve_in_thread(tmp_path_factory.mktemp("store"), max_queued_jobs=2) as svc:
        loaded = schemathesis.openapi.from_url(f"{svc.url}/openapi.json")
        yield loaded


def names_the_field(response: Any) -> None:
    status = response.status_code
    assert status < 500, f"server error {status}: {response.text[:500]}"
    if status == 422:
        detail = response.json()["detail"]
        assert detail, response.text
        for item in detail if isinstance(detail, list) else [response.json()]:
            where = item.get("loc") or item.get("field")
            assert where, f"422 without the field: {response.text[:300]}"
    elif status in (404, 413):
        assert response.json().get("field"), response.text


SUBMIT = {("POST", "/jobs"), ("POST", "/trainer/jobs")}


def _semantic_refusal(case: Any, response: Any, exc: FailureGroup) -> bool:
    """A schema-valid job refused for what JSON Schema cannot say: "exactly one of targets / random_levels", a
    target file that must exist on the server, the bench's limits and geometry. Only these count: the 422 names a
    parameter with a ``value_error`` (our own checks), never a type or range the schema states, and the only
    failure is the positive-data one."""
    if (case.method.upper(), case.path) not in SUBMIT or response.status_code != 422:
        return False
    failures = list(exc.exceptions)
    if not all(isinstance(f, oa.RejectedPositiveData) for f in failures):
        return False
    detail = response.json()["detail"]
    return all(d.get("type") == "value_error" and len(d.get("loc", [])) >= 2 for d in detail)


@pytest.mark.parametrize("mode", [GenerationMode.NEGATIVE, GenerationMode.POSITIVE])
def test_api_from_its_openapi_document(api_schema: Any, mode: GenerationMode) -> None:
    operations = [r.ok() for r in api_schema.get_all_operations()]
    assert len(operations) >= 12
    tested: list[str] = []

    for op in operations:

        @given(case=op.as_strategy(generation_mode=mode))
        @settings(deadline=None, suppress_health_check=list(HealthCheck), max_examples=EXAMPLES, database=None,
                  derandomize=True)
        def fuzz(case: Any) -> None:
            response = case.call()
            names_the_field(response)
            try:  # every default check of schemathesis
                case.validate_response(response)
            except FailureGroup as exc:
                if not _semantic_refusal(case, response, exc):
                    raise

        try:
            fuzz()
        except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
            assert mode is GenerationMode.NEGATIVE
            continue
        tested.append(f"{op.method.upper()} {op.path}")
    assert len(tested) >= 10, tested
