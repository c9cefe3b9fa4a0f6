"""`weiledger users`: the first admin from the command line, its token printed once and
stored only hashed; agent tokens; no second "first" admin."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

import asyncpg

from tests.conftest import run_cli

JOIN = {"at": "2026-01-05T09:00:00+08:00", "cmd": "join", "agent": "A1", "sponsor": None,
        "tier": "partner", "name": "王芳", "id_number": "110101198001011005",
        "phone": "13800388096"}


def _join_a1(tenant: str, database_url: str, folder: Path) -> None:
    journal = folder / "join.jsonl"
    journal.write_text(json.dumps(JOIN, ensure_ascii=False) + "\n")
    joined = run_cli("import", str(journal), "--tenant", tenant, "--no-progress",
                     database=database_url)
    assert joined.returncode == 0, joined.stdout + joined.stderr


async def test_create_admin_then_agent_token(database_url: str, tmp_path: Path) -> None:
    tenant = f"cli-{uuid.uuid4().hex[:8]}"
    _join_a1(tenant, database_url, tmp_path)
    first = run_cli("users", "create-admin", "--tenant", tenant, "--password-stdin",
                    database=database_url, stdin="first admin's password\n")
    assert first.returncode == 0, first.stderr
    token = first.stdout.strip().splitlines()[-1]
    assert token.startswith("wl_") and len(token) > 40
    again = run_cli("users", "create-admin", "--tenant", tenant, "--password-stdin",
                    database=database_url, stdin="another password\n")
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


def test_a_token_only_for_an_agent_that_exists_and_never_beyond_the_longest_lifetime(
    database_url: str, tmp_path: Path
) -> None:
    """Before: `--agent NOPE` issued a token, `--days 1e9` was a traceback, and any
    lifetime went."""
    tenant = f"cli-{uuid.uuid4().hex[:8]}"
    nope = run_cli("users", "token", "--agent", "NOPE", "--tenant", tenant,
                   database=database_url)
    assert nope.returncode == 2, nope.stdout + nope.stderr
    assert nope.stderr.strip() == f"refused: tenant {tenant} has no agent NOPE"
    assert "wl_" not in nope.stdout
    _join_a1(tenant, database_url, tmp_path)
    for days in ("1e9", "91", "0", "-1", "nan"):
        answer = run_cli("users", "token", "--agent", "A1", "--tenant", tenant, "--days", days,
                         database=database_url)
        assert answer.returncode == 2, (days, answer.stderr)
        assert len(answer.stderr.strip().splitlines()) == 1, answer.stderr
        assert answer.stderr.startswith("refused: a token lives more than 0 and at most 90 days")
        assert "Traceback" not in answer.stderr and "wl_" not in answer.stdout
    longest = run_cli("users", "token", "--agent", "A1", "--tenant", tenant, "--days", "90",
                      database=database_url)
    assert longest.returncode == 0, longest.stderr
    shorter = run_cli("users", "token", "--role", "auditor", "--tenant", tenant, "--days", "10",
                      database=database_url, env={"WEILEDGER_TOKEN_MAX_DAYS": "7"})
    assert shorter.returncode == 2 and "at most 7 days" in shorter.stderr
