"""schemathesis against the service's own OpenAPI document, on a real server and
database: whatever the generated requests, no 5xx and no answer that breaks its schema.

Bounded (a few examples per operation) so it stays quick in CI; WEILEDGER_FUZZ_EXAMPLES
sets how many. It runs every operation as HQ admin, who may call every HQ operation, and
as an agent, who may call the self-service ones; with requests the document allows and,
a third as many, requests it forbids, which must be refused (negative_data_rejection:
it found `?from=0` taken as 1970 and a tick at the number 1764000000).

The long run (issue 17) is the schemathesis CLI against `weiledger serve`, once per role
with its token, every check, a few hundred examples per operation:
    schemathesis run http://127.0.0.1:PORT/openapi.json -H "Authorization: Bearer $TOKEN"
      --checks all --phases examples,coverage,fuzzing -n 300 --continue-on-failure
Its positive_data_acceptance answers are mostly refusals by a rule the document cannot
say (unknown-product, stale-version, bad-cursor, `1.0` as a quantity, ...): read them."""

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
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
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


def has_input(operation: Any) -> bool:
    return any(len(part) for part in (operation.path_parameters, operation.headers,
                                       operation.cookies, operation.query, operation.body))


def test_no_server_error_and_every_answer_fits_the_schema(
    server: tuple[str, dict[str, str]],
) -> None:
    base, tokens = server
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    # The bearer is sent with every call (so it is no parameter to leave out), and an
    # unknown query parameter is ignored, as HTTP APIs do: neither makes a request bad.
    schema.config.generation.update(with_security_parameters=False,
                                    allow_extra_parameters=False)
    checks = [not_a_server_error, response_schema_conformance, status_code_conformance,
              content_type_conformance, response_headers_conformance, negative_data_rejection]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50

    def fuzz(operation: Any, who: str, mode: GenerationMode, examples: int) -> None:
        headers = {"Authorization": f"Bearer {tokens[who]}"}

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def call(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=base, headers=headers, checks=checks)

        call()

    # Every operation as admin and as an agent: what one may not call answers 403, never
    # a 5xx, whatever the body.
    negative = max(1, EXAMPLES // 3)
    for operation in operations:
        for who in ("admin", "agent"):
            fuzz(operation, who, GenerationMode.POSITIVE, EXAMPLES - negative)
            if has_input(operation):  # else there is nothing to get wrong
                fuzz(operation, who, GenerationMode.NEGATIVE, negative)
