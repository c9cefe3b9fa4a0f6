"""What the event store says when PostgreSQL is not there to answer.

One exception for "the database cannot be reached or refuses us right now", whoever
notices it (the service starting, a request, a CLI command): the API renders it as 503
`database-unavailable` with Retry-After, the CLI as one line and exit code 2. Nothing
it carries holds a password: `where` is the database as Settings.describe_database
gives it.

And the one place where the driver's errors become the store's, by their PEP 249
meaning, as the eventsourcing library translates psycopg's in its get_connection
(eventsourcing/postgres.py; its names in eventsourcing/persistence.py): what PEP 249
calls an OperationalError or InterfaceError of the connection (refused, reset, closed,
the server shutting down, starting up, out of connection slots) is DatabaseUnavailable;
a transaction the server rolled back to keep others serialisable (serialization
failure, deadlock) is a VersionConflict, the store's "others changed the same records,
nothing of yours was recorded: judge it again"; anything else is a bug or a refusal of
the schema and stays what it is. eventstore/persistence.py maps these on to the
library's own names for its synchronous adapter.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

from domain.ports import VersionConflict


class DatabaseUnavailable(Exception):
    """The database cannot be reached, refuses the connection, or is not open yet."""

    def __init__(self, reason: str, where: str | None = None) -> None:
        super().__init__(f"{where}: {reason}" if where else reason)
        self.reason = reason
        self.where = where


# The connection, not the statement, failed: OSError (refused, reset, unreachable, and
# TimeoutError, which a connect that hears nothing raises), class 08 (connection
# exception, the "connection was closed in the middle of operation" of a killed server
# among them), class 57 (operator intervention: admin shutdown, crash shutdown, cannot
# connect now, a statement cancelled by the server), class 53 (insufficient resources:
# too many connections, disk full, out of memory), and the driver's InterfaceError (a
# connection already closed, a pool closing) and InternalClientError (what it says of a
# pooled connection whose server was killed under it: "cannot switch to state 11;
# another operation is in progress").
UNAVAILABLE: tuple[type[Exception], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,
    asyncpg.InsufficientResourcesError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)
# The server rolled the transaction back so that others could commit (class 40).
ROLLED_BACK: tuple[type[Exception], ...] = (asyncpg.TransactionRollbackError,)


def reason(error: BaseException) -> str:
    """Why, in a few words, without an address or a password."""
    if isinstance(error, OSError) and error.errno and error.errno > 0:
        return os.strerror(error.errno).lower()  # asyncio's own text names the address
    if isinstance(error, OSError) and error.strerror:  # a name not resolved, say
        return error.strerror.lower()
    if isinstance(error, TimeoutError):
        return "no answer in time"
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text


def translate(error: BaseException) -> BaseException:
    """The store's exception for a driver's (the error itself when it is not one)."""
    if isinstance(error, ROLLED_BACK):
        return VersionConflict(f"the database rolled the transaction back: {reason(error)}")
    if isinstance(error, UNAVAILABLE):
        return DatabaseUnavailable(reason(error))
    return error


@contextmanager
def database_errors() -> Iterator[None]:
    """Raise the store's exception for a driver error raised inside (see translate)."""
    try:
        yield
    except (*UNAVAILABLE, *ROLLED_BACK) as error:
        raise translate(error) from error


def cancelled_meanwhile() -> bool:
    """Whether this task was asked to stop while it met an error. The driver can turn
    a cancellation that lands inside it (a connect, a query's timeout) into an error of
    its own; a loop that retries on that error must stop instead, or the service never
    stops (a SIGTERM while the database is away)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
