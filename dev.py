#!/usr/bin/env python3
"""Set up and run weiledger on a machine that has only Python 3.11+.

    python3 dev.py serve     # the service on http://127.0.0.1:8000 (API docs at /docs)
    python3 dev.py test      # lint, types, import contracts, then the test suite

Both create ./.venv and install the project into it when needed (again whenever
pyproject.toml changes). `test --also-database URL` also runs the suite against that
PostgreSQL server, both passes at once, as CI does.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed-from"


def ensure_venv() -> None:
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print("creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing weiledger and its dependencies into .venv …", flush=True)
    run([str(BIN / "python"), "-m", "pip", "install", "-q", "--upgrade", "pip"])
    run([str(BIN / "python"), "-m", "pip", "install", "-q", "-e", f"{ROOT}[dev]"])
    STAMP.write_text(wanted)


# The console's browser tests drive Debian's Chromium, with CJK fonts for the Chinese
# pages (never a browser that `playwright install` would download).
BROWSER_PACKAGES = ["chromium", "fonts-noto-cjk"]
CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


def ensure_browser() -> None:
    if shutil.which("chromium") and CJK_FONT.exists():
        return
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"installing {' '.join(BROWSER_PACKAGES)} for the console's browser tests …",
              flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        failed = (subprocess.call(["apt-get", "update", "-qq"], env=env)
                  or subprocess.call(["apt-get", "install", "-y", "-qq", *BROWSER_PACKAGES],
                                     env=env))
        if not failed:
            return
    print("The console's browser tests need Chromium and CJK fonts, and they could not be"
          f" installed here. Install them, e.g.: sudo apt-get install -y"
          f" {' '.join(BROWSER_PACKAGES)} (or set WEILEDGER_CHROMIUM to a Chromium)."
          " Until then those tests fail.", flush=True)


def run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    print("+", " ".join(cmd), flush=True)
    code = subprocess.call(cmd, cwd=ROOT, env=env)
    if code != 0:
        sys.exit(code)


# Run in the first pass only: it judges 20,000 commands twice (bulk and one at a time),
# over five minutes of the two cores, and what it compares (outcomes, events) does not
# depend on the server; the other bulk-against-one-at-a-time tests run in every pass.
ONCE = ["tests/scenarios/test_bulk_import.py::"
        "test_a_generated_journal_of_20000_commands_in_bulk_is_recorded_as_one_at_a_time"]


def test(args: list[str]) -> None:
    also: list[str] = []
    while "--also-database" in args:
        i = args.index("--also-database")
        also.append(args[i + 1])
        del args[i : i + 2]
    tool = lambda name: str(BIN / name)  # noqa: E731
    run([tool("ruff"), "check", "."])
    run([tool("mypy")])
    run([tool("lint-imports")])
    ensure_browser()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    # Two workers a pass, a test file each at a time (a file's fixtures are set up once).
    args = ["-n", "2", "--dist", "loadfile", *args]
    if not also:
        print("== test suite against the embedded PostgreSQL", flush=True)
        run([tool("pytest"), *args], env=env)
        return
    # Each server's pass at the same time (CI): they share nothing but the machine, and
    # much of a pass waits on its server and subprocesses. Each one's output follows whole.
    passes = [("the embedded PostgreSQL", env)]
    passes += [(url.split("@")[-1], {**env, "DATABASE_URL": url}) for url in also]
    logs = ROOT / ".data" / "test-logs"
    logs.mkdir(parents=True, exist_ok=True)
    running = []
    for n, (name, pass_env) in enumerate(passes):
        log = (logs / f"pass-{n}.log").open("w+")
        once = [f"--deselect={test}" for test in ONCE] if n else []
        print(f"== test suite against {name}: started" + (
            f" (without {', '.join(ONCE)}: the first pass runs it)" if once else ""), flush=True)
        running.append((name, log, subprocess.Popen(
            [tool("pytest"), f"--basetemp={logs / f'tmp-{n}'}", *once, *args], cwd=ROOT,
            env=pass_env, stdout=log, stderr=subprocess.STDOUT)))
    failed = 0
    for name, log, proc in running:
        code = proc.wait()
        log.seek(0)
        print(f"== test suite against {name}: exit {code}", flush=True)
        sys.stdout.write(log.read())
        sys.stdout.flush()
        failed = failed or code
    if failed:
        sys.exit(failed)


def main() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - the guard is for older Pythons
        sys.exit("weiledger needs Python 3.11 or newer")
    command, *args = sys.argv[1:] or ["help"]
    if command not in {"serve", "test", "shell"}:
        sys.exit(__doc__)
    ensure_venv()
    if command == "serve":
        # A newcomer gets the generated demo brand (on first start) and tokens to try.
        run([str(BIN / "weiledger"), "serve", "--demo", *args])
    elif command == "test":
        test(args)
    else:
        run([str(BIN / "python"), *args])


if __name__ == "__main__":
    main()
