"""Schemathesis against the published OpenAPI document: whatever it sends, within the
document or not, no request meets a server error, and answers match the document."""

from __future__ import annotations

from pathlib import Path

import anyio
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from alertd.server.app import build_app
from tests.server import harness

# About 20 cases per operation, 15 operations: a few hundred requests in all.
CASES_PER_OPERATION = 20


def test_no_server_errors_and_answers_as_documented(tmp_path: Path) -> None:
    alertd = anyio.run(harness.daemon, tmp_path)
    schema = schemathesis.openapi.from_asgi("/openapi.json", build_app(alertd.parts))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=CASES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(
                headers={"Authorization": f"Bearer {harness.TOKEN}"},
                checks=[not_a_server_error, response_schema_conformance, status_code_conformance],
            )

        check()
