"""Schemathesis generates requests for every operation of the OpenAPI document and sends
them, as an admin, to a real server on each engine: no answer may be a 5xx, and each
must match the document. Bounded by example counts and derandomized, so a run takes the
same requests whatever the machine's speed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.conftest import ENGINES
from tests.support import databases, processes
from tests.support.server import Server, start_server
from tests.support.services import require

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 10


@pytest.fixture(scope="module", params=ENGINES)
def live_server(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Server]:
    env = {}
    if request.param == "postgresql":
        require("postgresql")
        env["DATABASE_URL"] = asyncio.run(databases.create_pg_database())
    server = start_server(tmp_path_factory.mktemp(f"fuzz-{request.param}"), **env)
    try:
        yield server
    finally:
        processes.kill_group(server.proc)
        if "DATABASE_URL" in env:
            asyncio.run(databases.drop_pg_database(env["DATABASE_URL"]))


@pytest.fixture(scope="module")
def admin_headers(live_server: Server) -> dict[str, str]:
    password = live_server.credential("staff demo-admin")
    r = httpx.post(
        f"{live_server.base}/api/v1/auth/login",
        json={"username": "demo-admin", "password": password},
    )
    return {"Authorization": f"Bearer {r.json()['token']}"}


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def test_generated_requests_get_no_5xx_and_match_the_document(live_server, admin_headers):
    schema = schemathesis.openapi.from_url(f"{live_server.base}/schema/openapi.json")
    failures, operations, sent = [], 0, []
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @FUZZ_SETTINGS
        @given(case=operation.as_strategy())
        def send(case) -> None:
            sent.append(case)
            case.call_and_validate(
                base_url=live_server.base,
                headers=admin_headers,
                checks=[not_a_server_error, response_schema_conformance],
                timeout=60,
            )

        try:
            send()
        except Exception as exc:
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    assert operations > 100 and len(sent) >= 2 * operations
    assert not failures, "\n\n".join(failures)
