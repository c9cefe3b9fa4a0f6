"""The in-memory twin of the key vault (eventstore/vault.py), for fast tests."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class _Claims:
    def __init__(self, digests: dict[bytes, str]) -> None:
        self.digests = digests

    async def holder(self, digest: bytes) -> str | None:
        return self.digests.get(digest)

    async def claim(self, digest: bytes, agent: str) -> None:
        self.digests[digest] = agent


class InMemoryKeyVault:
    def __init__(self) -> None:
        self._keys: dict[tuple[str, str], bytes] = {}
        self._identities: dict[str, dict[bytes, str]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    @asynccontextmanager
    async def identities(self, tenant: str) -> AsyncIterator[_Claims]:
        async with self._locks.setdefault(tenant, asyncio.Lock()):
            yield _Claims(self._identities.setdefault(tenant, {}))

    async def erase_identity(self, tenant: str, agent: str) -> None:
        digests = self._identities.get(tenant, {})
        for digest in [d for d, holder in digests.items() if holder == agent]:
            del digests[digest]

    async def key_for(self, tenant: str, subject: str) -> bytes:
        return self._keys.setdefault((tenant, subject), os.urandom(32))

    async def get(self, tenant: str, subject: str) -> bytes | None:
        return self._keys.get((tenant, subject))

    async def destroy(self, tenant: str, subject: str) -> bool:
        return self._keys.pop((tenant, subject), None) is not None
