"""Schemathesis against the live OpenAPI document: no 5xx, every response matches the schema.

Runs authenticated as an admin over a small plant, on SQLite and PostgreSQL, with a bounded
number of examples per operation so the suite stays fast. New endpoints join automatically.
All of schemathesis's checks run except "schema-valid data must be accepted": a well-formed
but foreign pagination cursor, or a reference to a row that does not exist, is rightly a 422.
"""

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from andon.core.permissions import Role
from andon.core.uow import Context
from tests.factories import bearer, make_plant

EXAMPLES_PER_OPERATION = 15


@pytest.mark.schemathesis
def test_api_conforms_to_its_schema(app: FastAPI, system: Context) -> None:
    make_plant(system)
    headers = bearer(system, "schema.admin", Role.ADMIN)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    failures: dict[str, str] = {}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # collect all, report together
            failures[operation.label] = str(exc)[:2000]
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
