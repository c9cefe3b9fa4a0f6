"""Who a bearer token belongs to, asked of the store (eventstore/principals.py) through
a short cache."""

from __future__ import annotations

import time

from domain.agents.service import AgentService
from eventstore.database import Pool
from eventstore.principals import Principal, Role, principal_of, token_hash


class TokenBook:
    """Looks a bearer token up, with a short cache so a busy client costs no query per
    call. A revocation takes effect within `ttl` seconds (one second by default), and so
    does forgetting an agent: a forgotten agent's tokens open nothing (its person is
    erased; what is left of it is HQ's to read). A suspended or terminated agent's still
    open its own reads: the ledger refuses its trading (agent-inactive)."""

    def __init__(self, pool: Pool, tenant: str, agents: AgentService, ttl: float = 1.0) -> None:
        self.pool = pool
        self.tenant = tenant
        self.agents = agents
        self.ttl = ttl
        self._cache: dict[bytes, tuple[float, Principal | None]] = {}

    async def find(self, token: str) -> Principal | None:
        digest = token_hash(token)
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        found = await principal_of(self.pool, self.tenant, digest)
        if found is not None and found.role is Role.AGENT and found.agent is not None:
            agent = await self.agents.get(self.tenant, found.agent)
            if agent is not None and agent.forgotten:
                found = None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (now + self.ttl, found)
        return found
