"""Who a bearer token belongs to, asked of the store (eventstore/principals.py) through
a short cache."""

from __future__ import annotations

import time

from eventstore.database import Pool
from eventstore.principals import Principal, principal_of, token_hash


class TokenBook:
    """Looks a bearer token up, with a short cache so a busy client costs no query per
    call. A revocation takes effect within `ttl` seconds (one second by default)."""

    def __init__(self, pool: Pool, tenant: str, ttl: float = 1.0) -> None:
        self.pool = pool
        self.tenant = tenant
        self.ttl = ttl
        self._cache: dict[bytes, tuple[float, Principal | None]] = {}

    async def find(self, token: str) -> Principal | None:
        digest = token_hash(token)
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        found = await principal_of(self.pool, self.tenant, digest)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (now + self.ttl, found)
        return found
