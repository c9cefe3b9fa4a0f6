"""`weiledger users`: the first admin from the command line, its token printed once and
stored only hashed; agent tokens; no second "first" admin."""

from __future__ import annotations

import hashlib
import uuid

import asyncpg

from tests.conftest import run_cli


async def test_create_admin_then_agent_token(database_url: str) -> None:
    tenant = f"cli-{uuid.uuid4().hex[:8]}"
    first = run_cli("users", "create-admin", "--tenant", tenant, database=database_url)
    assert first.returncode == 0, first.stderr
    token = first.stdout.strip().splitlines()[-1]
    assert token.startswith("wl_") and len(token) > 40
    again = run_cli("users", "create-admin", "--tenant", tenant, database=database_url)
    assert again.returncode == 2 and "already has an admin" in again.stderr
    agent = run_cli("users", "token", "--agent", "A1", "--tenant", tenant, database=database_url)
    assert agent.returncode == 0 and "agent A1" in agent.stdout
    conn = await asyncpg.connect(database_url)
    try:
        stored = await conn.fetch("SELECT token_hash, label FROM api_tokens WHERE tenant = $1",
                                  tenant)
    finally:
        await conn.close()
    assert hashlib.sha256(token.encode()).digest() in {r["token_hash"] for r in stored}
    assert all(token not in r["label"] or len(r["label"]) < 12 for r in stored)
