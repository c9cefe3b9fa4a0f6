"""The in-memory twin of the key vault (eventstore/vault.py), for fast tests."""

from __future__ import annotations

import os


class InMemoryKeyVault:
    def __init__(self) -> None:
        self._keys: dict[tuple[str, str], bytes] = {}

    async def key_for(self, tenant: str, subject: str) -> bytes:
        return self._keys.setdefault((tenant, subject), os.urandom(32))

    async def get(self, tenant: str, subject: str) -> bytes | None:
        return self._keys.get((tenant, subject))

    async def destroy(self, tenant: str, subject: str) -> bool:
        return self._keys.pop((tenant, subject), None) is not None
