"""Every long command draws its progress (rate, time left) on stderr when forced
(WEILEDGER_PROGRESS=1) or on a terminal, and nothing of it otherwise; stdout is the same
either way."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli

SCENARIOS = ROOT.parent / "shared" / "scenarios"
# tqdm's finished bar: "verify-chain: 100%|██████████| 54.0/54.0 [00:00<00:00, 3.2kevent/s]"
pytestmark = pytest.mark.slow  # nine CLI processes

FINISHED = re.compile(r"(?P<what>[\w -]+): 100%\|.*\| [\d.]+k?/[\d.]+k? \[[\d:]+<[\d:]+, .*/s\]")


def _finished_bars(stderr: str) -> list[str]:
    return [m.group("what") for m in FINISHED.finditer(stderr.replace("\r", "\n"))]


async def test_each_long_command_shows_its_progress_when_forced_and_only_then(
    fresh_database: str, tmp_path: Path
):
    journal = tmp_path / "03.jsonl"
    shutil.copy(SCENARIOS / "03-settlement.jsonl", journal)
    env = {"WEILEDGER_TENANT": "brand", "WEILEDGER_KEYS_DIR": str(tmp_path / "keys")}
    forced = {**env, "WEILEDGER_PROGRESS": "1"}

    def cli(*args: str, progress: bool = True) -> tuple[str, str]:
        done = run_cli(*args, database=fresh_database, env=forced if progress else env)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout, done.stderr

    def run() -> None:
        assert cli("keys", "init", progress=False)[1] == ""
        commands = {
            "import": ("import", str(journal)),
            "catch-up": ("projections", "catch-up"),
            "rebuild tree": ("projections", "rebuild", "tree"),
            "verify-chain": ("db", "verify-chain"),
            "verify-payouts": ("verify-payouts",),
            "export": ("export", str(tmp_path / "out.zip")),
            "verify-export": ("verify-export", str(tmp_path / "out.zip")),
        }
        for what, args in commands.items():
            printed, stderr = cli(*args)
            assert set(_finished_bars(stderr)) == {what}, stderr
            assert "100%" not in printed  # never on stdout
            if what in ("verify-chain", "verify-export"):
                # Not a terminal, not forced: no bar, and the same report on stdout.
                assert cli(*args, progress=False) == (printed, "")

    await asyncio.to_thread(run)
