"""What the event store says when PostgreSQL is not there to answer.

One exception for "the database cannot be reached or refuses us right now", whoever
notices it (the service starting, a request, a CLI command): the API renders it as 503
`database-unavailable` with Retry-After, the CLI as one line and exit code 2. Nothing
it carries holds a password: `where` is the database as Settings.describe_database
gives it.
"""

from __future__ import annotations


class DatabaseUnavailable(Exception):
    """The database cannot be reached, refuses the connection, or is not open yet."""

    def __init__(self, reason: str, where: str | None = None) -> None:
        super().__init__(f"{where}: {reason}" if where else reason)
        self.reason = reason
        self.where = where
