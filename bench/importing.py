"""`weiledger import` of a generated journal: commands per second and peak memory.

    python -m bench.importing [--commands 100000] [--database-url URL]

Generates a valid journal (cli/journal_generator.py), imports it into a fresh database with
the real command line in a child process (so its peak RSS is the importer's alone), and
prints the figures; then the same journal through the in-memory store, in this process,
as the reference for what the PostgreSQL round trips cost.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from cli.journal_generator import Journal
from domain.importing import run_journal
from eventstore.database import embedded_url
from eventstore.memory import InMemoryEventStore
from eventstore.memory_vault import InMemoryKeyVault


async def _database(admin: str, name: str, create: bool) -> None:
    conn = await asyncpg.connect(admin)
    try:
        if create:
            await conn.execute(f'CREATE DATABASE "{name}"')
        else:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commands", type=int, default=100_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    admin = args.database_url or embedded_url(Path(".data/bench"))
    name = f"wl_bench_import_{uuid.uuid4().hex[:8]}"

    with tempfile.TemporaryDirectory() as folder:
        journal = Path(folder) / "journal.jsonl"
        lines = list(Journal(args.commands).lines())
        journal.write_text("\n".join(lines) + "\n", encoding="utf-8")

        asyncio.run(_database(admin, name, create=True))
        try:
            url = urlunsplit(urlsplit(admin)._replace(path="/" + name))
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "cli.app", "import", str(journal), "--tenant", "bench",
                 "--no-progress"],
                env={**os.environ, "DATABASE_URL": url}, capture_output=True, text=True,
                check=False,
            )  # fmt: skip
            seconds = time.perf_counter() - started
            peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        finally:
            asyncio.run(_database(admin, name, create=False))
        if done.returncode != 0:
            sys.exit(f"import failed:\n{done.stdout}\n{done.stderr}")

        started = time.perf_counter()
        summary = asyncio.run(run_journal(InMemoryEventStore(), InMemoryKeyVault(), "m", lines))
        memory_seconds = time.perf_counter() - started

    where = "embedded PostgreSQL" if not args.database_url else admin.rsplit("@", 1)[-1]
    print(f"journal: {len(lines)} commands; {done.stdout.splitlines()[0]}")
    print(f"PostgreSQL ({where}): {seconds:8.1f} s  {len(lines) / seconds:8.0f} commands/s"
          f"  peak RSS {peak_mb:.0f} MB (the importer process)")
    print(f"in-memory store     : {memory_seconds:8.1f} s  {len(lines) / memory_seconds:8.0f}"
          f" commands/s  ({summary.accepted} accepted)")


if __name__ == "__main__":
    main()
