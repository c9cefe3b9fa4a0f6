"""The export as an HTTP route streams it: the bytes verify, and a client that leaves
early stops the writer."""

from __future__ import annotations

import asyncio
import os
import zipfile
from pathlib import Path

from eventstore.database import create_pool
from eventstore.kek import Kek
from export import format as f
from export.signing import load_private_key
from export.stream import stream_export
from tests.export.conftest import Ledger, verified


async def test_a_streamed_export_verifies(ledger: Ledger, tmp_path: Path) -> None:
    pool = await create_pool(ledger.url, app_role="weiledger_app", size=2)
    try:
        key = load_private_key(ledger.folder / "keys", "s03")
        out = tmp_path / "streamed.zip"
        kek = Kek.from_text(os.environ["WEILEDGER_KEK"])  # the run's (tests/conftest.py)
        chunks = [c async for c in stream_export(pool, "s03", key, kek)]
        out.write_bytes(b"".join(chunks))
        report = await verified(out)
        assert report.ok, report.text()
        with zipfile.ZipFile(out) as a, zipfile.ZipFile(ledger.exports["03-settlement"]) as b:
            for name in (f.EVENTS, f.STATEMENTS, f.LINES, f.AGENTS):
                assert a.read(name) == b.read(name), name

        stream = stream_export(pool, "s03", key, kek)
        first = await anext(stream)
        assert first.startswith(b"PK")
        await stream.aclose()  # the client went away
        async with asyncio.timeout(5):  # and the connection came back to the pool
            async with pool.acquire() as conn:
                assert await conn.fetchval("SELECT 1") == 1
    finally:
        await pool.close()
