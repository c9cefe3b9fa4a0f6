"""The CLI against a database it cannot use: one line naming it (never the password)
and why, exit code 2, for every command that opens it."""

from __future__ import annotations

import pytest

from bench.postgres import free_port
from tests.conftest import run_cli, server_and_database, with_database


@pytest.mark.parametrize("command", [("db", "migrate"), ("db", "verify-chain"),
                                     ("users", "list"), ("projections", "catch-up")])
def test_an_unreachable_database_is_one_line_and_exit_code_2(command):
    port = free_port()  # nothing listens there
    done = run_cli(*command, database=f"postgresql://postgres:s3cret@127.0.0.1:{port}/x")
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"database unavailable: postgresql://127.0.0.1:{port}/x: connection refused"]


def test_a_database_that_refuses_us_is_named_with_its_reason():
    admin, _ = server_and_database()
    done = run_cli("db", "migrate", database=with_database(admin, "wl_no_such_database"))
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("database unavailable: postgresql://")
    assert line.endswith('database "wl_no_such_database" does not exist')
