"""Issuing a policy version."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.errors import judge
from domain.events import create, streams, trigger
from domain.handling import Accepted, AggregateCache, Context, Session, execute
from domain.policy.book import PolicyBook, policy_in_force
from domain.policy.model import Policy, from_document, to_document
from domain.policy.rules import hard_limit, policy_version
from domain.ports import EventStore


@dataclass(frozen=True, slots=True)
class IssuePolicy:
    at: datetime
    document: dict[str, Any]  # absent keys keep the version in force at `at`
    version: int | None = None  # None: the next version
    effective_from: datetime | None = None  # None: from `at`


async def load_policy(session: Session) -> Policy:
    """The policy in force at the session's business time."""
    book = await session.load(streams.POLICY, PolicyBook)
    return policy_in_force(book, session.at)


class PolicyService:
    def __init__(self, store: EventStore, cache: AggregateCache | None = None) -> None:
        self.store = store
        self.cache = cache

    async def issue(self, ctx: Context, cmd: IssuePolicy) -> Accepted:
        async def decide(s: Session) -> None:
            book = await s.load(streams.POLICY, PolicyBook)
            if book is None:
                book = create(PolicyBook, PolicyBook.Opened, streams.POLICY, cmd.at)
            effective = cmd.effective_from or cmd.at
            latest = book.latest
            version = cmd.version if cmd.version is not None else latest.version + 1
            policy = from_document(cmd.document, version, effective, book.in_force(effective))
            judge(hard_limit(policy), policy_version(version, effective, latest))
            trigger(
                book,
                PolicyBook.PolicyIssued,
                cmd.at,
                version=version,
                effective_from=effective,
                document=to_document(policy),
            )
            s.save(streams.POLICY, book)

        return await execute(self.store, ctx, cmd.at, "policy", decide, load_policy, self.cache)

    async def in_force(self, tenant: str, at: datetime) -> Policy:
        session = Session(self.store, tenant, at)
        return await load_policy(session)
