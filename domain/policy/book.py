"""The policy book: every issued version, in the one "policy" stream.

Version 1 is the default of DOMAIN.md and is never recorded: a fresh ledger runs under
it. A command is judged by the version in force at its business time: the latest
version whose effective time is not after it, so history imported under old policies
is judged by them.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate

from domain.policy.model import DEFAULT_POLICY, Policy, from_document


class PolicyBook(Aggregate):
    TOPIC = "PolicyBook"

    class Event(Aggregate.Event):
        pass

    class Opened(Event, Aggregate.Created):
        TOPIC = "PolicyBookOpened"

        def apply(self, book: PolicyBook) -> None:
            book.versions = [DEFAULT_POLICY]

    class PolicyIssued(Event):
        TOPIC = "PolicyIssued"
        version: int
        effective_from: datetime
        document: dict[str, Any]  # the whole version, see model.to_document

        def apply(self, book: PolicyBook) -> None:
            book.versions.append(
                from_document(self.document, self.version, self.effective_from, DEFAULT_POLICY)
            )

    Created = Opened  # the library looks for 'Created'; one class, one topic

    if TYPE_CHECKING:  # set by the events; a class annotation would make it an init arg
        versions: list[Policy]

    @property
    def latest(self) -> Policy:
        return self.versions[-1]

    def in_force(self, at: datetime) -> Policy:
        found = DEFAULT_POLICY
        for policy in self.versions:
            started = policy.effective_from is None or policy.effective_from <= at
            if started and policy.version > found.version:
                found = policy
        return found


def policy_in_force(book: PolicyBook | None, at: datetime) -> Policy:
    return DEFAULT_POLICY if book is None else book.in_force(at)
