"""schemathesis against the service's own OpenAPI document, on a real server and
database: whatever the generated requests, no 5xx and no answer that breaks its schema.

Bounded (a few examples per operation) so it stays quick in CI; WEILEDGER_FUZZ_EXAMPLES
sets how many. It runs every operation as HQ admin, who may call every HQ operation, and
as an agent, who may call the self-service ones."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from eventstore.principals import Role, create_principal, issue_token
from tests.api.test_serve import free_port, get, stop
from tests.conftest import ROOT

# Generated requests to every operation of a `weiledger serve` subprocess: about 20 s.
pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("WEILEDGER_FUZZ_EXAMPLES", "6"))


async def _tokens(url: str, tenant: str) -> dict[str, str]:
    conn = await asyncpg.connect(url)
    try:
        found = {}
        for role, agent in ((Role.ADMIN, None), (Role.AGENT, "A1")):
            principal = await create_principal(conn, tenant, role, f"fuzz {role}", agent)
            found[role.value] = (await issue_token(conn, principal)).token
        return found
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    tenant = f"fuzz-{uuid.uuid4().hex[:8]}"
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "WEILEDGER_TENANT": tenant}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.app", "serve", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        get(port, "/ready", proc)
        yield f"http://127.0.0.1:{port}", asyncio.run(_tokens(database_url, tenant))
    finally:
        stop(proc)


def test_no_server_error_and_every_answer_fits_the_schema(
    server: tuple[str, dict[str, str]],
) -> None:
    base, tokens = server
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    checks = [not_a_server_error, response_schema_conformance, status_code_conformance,
              content_type_conformance]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50

    def fuzz(operation: Any, who: str) -> None:
        headers = {"Authorization": f"Bearer {tokens[who]}"}

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def call(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=base, headers=headers, checks=checks)

        call()

    # Every operation as admin and as an agent: what one may not call answers 403, never
    # a 5xx, whatever the body.
    for operation in operations:
        for who in ("admin", "agent"):
            fuzz(operation, who)
