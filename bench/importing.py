"""`weiledger import` of a generated journal, in bulk and one line at a time: commands
per second and peak memory of each, and their ratio, in one run on one PostgreSQL.

    python -m bench.importing [--commands 1000000] [--agents 100000] [--prefix 20000]
                              [--database-url URL]

Generates a valid journal (cli/journal_generator.py) and imports it into a fresh database
with the real command line, each way in a child process of its own (so each peak RSS is
that importer's alone): the whole journal in bulk (the default), and, one line at a time
(`--one-at-a-time`), only its first `--prefix` lines, since a million would take over
half an hour that way; the bulk path is timed on the same prefix too, for a ratio of
like with like. The machine is shared: the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from cli.journal_generator import Journal
from eventstore.database import embedded_url

# The real command line, run in this child, then its own peak RSS (kB on Linux).
_CHILD = (
    "import resource, runpy, sys\n"
    "sys.argv = ['weiledger', *sys.argv[1:]]\n"
    "try:\n"
    "    runpy.run_module('cli.app', run_name='__main__')\n"
    "finally:\n"
    "    print('peak_rss_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,"
    " file=sys.stderr)\n"
)


async def _database(admin: str, name: str, create: bool) -> None:
    conn = await asyncpg.connect(admin)
    try:
        if create:
            await conn.execute(f'CREATE DATABASE "{name}"')
        else:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _import(url: str, journal: Path, tenant: str, *more: str) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB, the summary's first line) of one import in a child."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, "import", str(journal), "--tenant", tenant,
         "--no-progress", "--report", str(journal.with_suffix(f".{tenant}")), *more],
        env={**os.environ, "DATABASE_URL": url}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"import failed:\n{done.stdout}\n{done.stderr}")
    rss = next(int(line.split()[1]) for line in done.stderr.splitlines()
               if line.startswith("peak_rss_kb"))
    return seconds, rss / 1024, done.stdout.splitlines()[0]


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commands", type=int, default=1_000_000)
    parser.add_argument("--agents", type=int, default=100_000)
    parser.add_argument("--prefix", type=int, default=20_000,
                        help="lines imported one at a time (and in bulk, for the ratio)")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    admin = args.database_url or embedded_url(Path(".data/bench"))
    name = f"wl_bench_import_{uuid.uuid4().hex[:8]}"
    where = "embedded PostgreSQL" if not args.database_url else admin.rsplit("@", 1)[-1]
    print(f"load average before (1, 5, 15 min): {_load()} on {os.cpu_count()} cores")

    with tempfile.TemporaryDirectory() as folder:
        journal, prefix = Path(folder) / "journal.jsonl", Path(folder) / "prefix.jsonl"
        started = time.perf_counter()
        with journal.open("w", encoding="utf-8") as whole, prefix.open("w", encoding="utf-8") \
                as first:
            for n, text in enumerate(Journal(args.commands, agents=args.agents).lines()):
                whole.write(text + "\n")
                if n < args.prefix:
                    first.write(text + "\n")
        lines = n + 1
        print(f"journal: {lines} commands, {args.agents} agents"
              f" (generated in {time.perf_counter() - started:.0f} s)")

        asyncio.run(_database(admin, name, create=True))
        try:
            url = urlunsplit(urlsplit(admin)._replace(path="/" + name))
            bulk = _import(url, journal, "bulk")
            bulk_prefix = _import(url, prefix, "bulk-prefix")
            one = _import(url, prefix, "one", "--one-at-a-time")
        finally:
            asyncio.run(_database(admin, name, create=False))

    short = min(args.prefix, lines)
    rows = [("bulk, whole journal", lines, bulk), (f"bulk, first {short} lines", short,
            bulk_prefix), (f"one at a time, first {short} lines", short, one)]
    print(f"PostgreSQL: {where}")
    for label, count, (seconds, rss, summary) in rows:
        print(f"{label:<34} {seconds:8.1f} s {count / seconds:8.0f} commands/s"
              f"  peak RSS {rss:5.0f} MB  ({summary})")
    print(f"bulk / one at a time: {lines / bulk[0] / (short / one[0]):.1f}x"
          f" (whole journal in bulk against the prefix one at a time),"
          f" {one[0] / bulk_prefix[0]:.1f}x on the same prefix")
    figures = {"commands_per_s": round(lines / bulk[0]), "peak_rss_mb": round(bulk[1])}
    print(f"goal: >= 10000 commands/s, peak RSS < 500 MB for 1,000,000 commands:"
          f" {json.dumps(figures)}")
    print(f"load average after (1, 5, 15 min): {_load()}")


if __name__ == "__main__":
    main()
