"""`weiledger users` for console logins: the first admin's password, a user of an HQ
role, a reset; an agent refused."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from eventstore.sign_in import Lockout, sign_in
from tests.conftest import run_cli

pytestmark = pytest.mark.slow  # CLI subprocesses
LOCKOUT = Lockout(5, 30, 3600)


async def test_create_admin_create_a_user_reset_its_password(database_url: str,
                                                             pool: asyncpg.Pool) -> None:
    tenant = f"cli-{uuid.uuid4().hex[:8]}"
    first = run_cli("users", "create-admin", "--tenant", tenant, "--username", "boss",
                    "--password-stdin", database=database_url, stdin="boss password 1\n")
    assert first.returncode == 0, first.stderr
    assert (await sign_in(pool, tenant, "boss", "boss password 1", LOCKOUT)).principal
    made = run_cli("users", "create", "wang", "--role", "auditor", "--name", "王审计",
                   "--tenant", tenant, "--password-stdin", database=database_url,
                   stdin="wang password 1\n")
    assert made.returncode == 0, made.stderr
    found = (await sign_in(pool, tenant, "wang", "wang password 1", LOCKOUT)).principal
    assert found is not None and found.role.value == "auditor" and found.name == "王审计"
    reset = run_cli("users", "reset-password", "wang", "--tenant", tenant,
                    "--password-stdin", database=database_url, stdin="wang password 2\n")
    assert reset.returncode == 0, reset.stderr
    assert (await sign_in(pool, tenant, "wang", "wang password 1", LOCKOUT)).principal is None
    assert (await sign_in(pool, tenant, "wang", "wang password 2", LOCKOUT)).principal


@pytest.mark.parametrize(("args", "said"), [
    (["create", "a1", "--role", "agent"], "an agent does not sign in"),
    (["create", "reg", "--role", "regulator"], "does not sign in to the console"),
    (["create", "short", "--role", "operations"], "at least 10 characters"),
    (["reset-password", "nobody"], "no console user nobody"),
])
def test_refused(database_url: str, args: list[str], said: str) -> None:
    tenant = f"cli-{uuid.uuid4().hex[:8]}"
    answer = run_cli("users", *args, "--tenant", tenant, "--password-stdin",
                     database=database_url, stdin="short\n" if "short" in args else
                     "a long enough password\n")
    assert answer.returncode == 2, answer.stdout + answer.stderr
    assert said in answer.stderr


