"""Schemathesis against the live app: generated requests to every documented operation never get
a 5xx, and every answer matches the OpenAPI document (status code, content type, body)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def api_schema(make_app):
    app = make_app(ROUTER_PASSWORD="schema-pw")
    client = app.test_client()
    # Some messages to read, deliver and page through.
    for i in range(3):
        client.get(
            f"/router/receive?backend=fuzz&sender=%2B2507880{i}&message=ping&password=schema-pw"
        )
    return schemathesis.openapi.from_wsgi("/router/openapi.json", app)


@pytest.mark.slow
def test_no_5xx_and_answers_match_the_schema(api_schema):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    # every documented operation but the document itself, which schemathesis leaves out
    assert len(operations) == 18, [op.label for op in operations]
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case):
            case.call_and_validate(checks=CHECKS, headers={"Authorization": "Bearer schema-pw"})

        check()
