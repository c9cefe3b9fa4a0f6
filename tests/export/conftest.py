"""One database for the export tests: the four sample journals imported through the real
CLI (one tenant each), a signing key per tenant in a temporary folder, and one export of
each, made once per session since every CLI call is a process of its own."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from domain.events import Codec
from eventstore.chain import event_digest, link
from eventstore.postgres import COLUMNS, row_to_event
from export.verify.archive import Report, verify_export
from tests.conftest import ROOT, _create, _drop, run_cli, server_and_database

SCENARIOS = ROOT.parent / "shared" / "scenarios"
JOURNALS = sorted(SCENARIOS.glob("*.jsonl"))
EVERY = 7  # events per checkpoint: small, so the journals make several


@dataclass
class Ledger:
    url: str
    folder: Path
    exports: dict[str, Path]  # journal stem -> its export

    def tenant(self, journal: Path) -> str:
        return "s" + journal.name[:2]

    async def cli(self, *args: str) -> str:
        done = await asyncio.to_thread(run_cli, *args, database=self.url)
        assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
        return done.stdout


@pytest.fixture(scope="session")
async def ledger(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Ledger]:
    folder = tmp_path_factory.mktemp("exports")
    saved = {k: os.environ.get(k) for k in ("WEILEDGER_KEYS_DIR", "WEILEDGER_CHECKPOINT_EVERY")}
    os.environ["WEILEDGER_KEYS_DIR"] = str(folder / "keys")
    os.environ["WEILEDGER_CHECKPOINT_EVERY"] = str(EVERY)
    admin, _ = server_and_database()
    name = f"wl_export_{uuid.uuid4().hex[:10]}"
    url = await _create(admin, name)
    found = Ledger(url, folder, {})

    async def one(journal: Path) -> None:
        tenant = found.tenant(journal)
        await found.cli("keys", "init", "--tenant", tenant)
        await found.cli("import", str(journal), "--tenant", tenant, "--no-progress")
        out = folder / f"{journal.stem}.zip"
        await found.cli("export", str(out), "--tenant", tenant)
        found.exports[journal.stem] = out

    try:
        await asyncio.gather(*(one(j) for j in JOURNALS))
        yield found
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        await _drop(admin, name)


async def verified(path: Path, expect_key: str | None = None,
                   after: Path | None = None) -> Report:
    """The offline verifier runs its own event loop: give it a thread of its own."""
    return await asyncio.to_thread(verify_export, path, expect_key=expect_key, after=after)


_transcoder = Codec().mapper.transcoder


async def rewrite_history(url: str, tenant: str, position: int,
                          edit: Callable[[dict[str, Any]], None]) -> None:
    """What a superuser can do to the log: change the event at `position` (its decoded
    fields, through `edit`) and recompute every hash from there, with chain_heads to
    match, so the live chain verifies again. Only the signed roots still know."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")  # no trigger
            rows = await conn.fetch(f"SELECT {COLUMNS} FROM events WHERE tenant = $1 AND"
                                    " position >= $2 ORDER BY position", tenant, position)
            prev = bytes(rows[0]["prev_hash"])
            for row in rows:
                e = row_to_event(row)
                payload = e.payload
                if e.position == position:
                    fields = dict(_transcoder.decode(payload))
                    edit(fields)
                    payload = _transcoder.encode(fields)
                digest = event_digest(e.tenant, e.stream, e.version, e.name, payload,
                                      e.metadata, e.business_time)
                new = link(prev, e.position, e.recorded_at, digest)
                await conn.execute("UPDATE events SET payload = $3, prev_hash = $4, hash = $5"
                                   " WHERE tenant = $1 AND position = $2",
                                   tenant, e.position, payload, prev, new)
                prev = new
            await conn.execute("UPDATE chain_heads SET hash = $2 WHERE tenant = $1", tenant, prev)
    finally:
        await conn.close()


async def position_of(url: str, tenant: str, name: str,
                      match: Callable[[dict[str, Any]], bool] = lambda d: True) -> int:
    """The position of the first event of `name` whose fields `match`."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT position, payload FROM events WHERE tenant = $1 AND"
                                " name = $2 ORDER BY position", tenant, name)
    finally:
        await conn.close()
    return next(r["position"] for r in rows if match(dict(_transcoder.decode(r["payload"]))))
