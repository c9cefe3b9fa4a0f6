"""A bulk import's batches on PostgreSQL: commands judged against a layer over the real
ledger (eventstore/overlay.py), then recorded together in one transaction.

A batch stands on the tenant's head as it was when the batch began. Before its commands
are judged, everything they will ask of the database one at a time (their idempotency
keys, remembered refusals, which streams exist, the personal data keys and identity
claims of the people they join) is asked in one read each (prepare). Then Ledger.handle
judges each command against the layer, in memory. The commit records the layer's events,
keys and refusals in ONE transaction with COPY, having first checked, under the
tenant's chain-head lock (and the identity lock when the batch touched the vault), that
the head has not moved: had anyone else recorded meanwhile, nothing is written and the
batch is judged again on the ledger as it now stands (never appended over another
writer's change). Positions, the hash chain (eventstore/chain.py, the sum
wl_extend_chain makes), idempotency keys and refusals are those a one-at-a-time import
would have recorded; only the recorded times and so the hashes differ.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime

import asyncpg

from domain.ports import Appended, RecordedEvent, RememberedRefusal
from eventstore.chain import GENESIS, canonical_json, event_digest, link
from eventstore.database import Conn
from eventstore.overlay import OverlayEventStore, OverlayKeyVault
from eventstore.postgres import CHANNEL, PostgresEventStore
from eventstore.refusals import from_row as refusal_from_row
from eventstore.vault import PostgresKeyVault, keys_of

_EVENT_COLUMNS = ("tenant", "position", "stream", "version", "name", "payload", "metadata",
                  "business_time", "recorded_at", "prev_hash", "hash")
_REFUSAL_COLUMNS = ("tenant", "key", "command", "rule", "numbers", "actor", "agent",
                    "business_time", "request_id", "head_position")


class PostgresBatch:
    """One tenant's batches, one after another. `record=False` (a dry run): a commit
    keeps everything layered and writes nothing."""

    def __init__(self, store: PostgresEventStore, vault: PostgresKeyVault, tenant: str, *,
                 record: bool = True) -> None:
        self.real, self.real_vault, self.tenant, self.record = store, vault, tenant, record
        self.store = OverlayEventStore(store)
        self.vault = OverlayKeyVault(vault)
        self._head: int | None = None  # the real head the layer stands on

    async def _stand(self) -> None:
        async with self.real.pool.acquire() as conn:
            head = await conn.fetchval("SELECT position FROM chain_heads WHERE tenant = $1",
                                       self.tenant) or 0
            clock = await conn.fetchval("SELECT max(business_time) FROM events"
                                        " WHERE tenant = $1", self.tenant)
        self._stand_on(head, clock)

    def _stand_on(self, head: int, clock: datetime | None) -> None:
        self._head = head
        self.store.start_over(self.tenant, head, clock)
        self.vault.start_over(self.tenant)

    async def head(self) -> int:
        if self._head is None:
            await self._stand()
        assert self._head is not None
        return self._head

    async def prepare(self, keys: Collection[str], streams: Collection[str],
                      subjects: Collection[str]) -> None:
        """Ask once for what these commands would ask one at a time."""
        await self.head()
        t = self.tenant
        async with self.real.pool.acquire() as conn:
            recorded = {r["key"]: Appended(r["first_position"], r["last_position"], True)
                        for r in await conn.fetch(
                            "SELECT key, first_position, last_position FROM idempotency_keys"
                            " WHERE tenant = $1 AND key = ANY($2::text[])", t, list(keys))}
            refused = {r.key: r for r in map(refusal_from_row, await conn.fetch(
                "SELECT * FROM refusals WHERE tenant = $1 AND key = ANY($2::text[])",
                t, list(keys)))}
            held = {r["s"] for r in await conn.fetch(
                "SELECT s FROM unnest($2::text[]) AS w(s) WHERE EXISTS"
                " (SELECT FROM events WHERE tenant = $1 AND stream = w.s)", t, list(streams))}
            data_keys = await keys_of(conn, t, list(subjects), self.real_vault.kek)
        self.store.learn(t, keys={k: recorded.get(k) for k in keys},
                         refusals={k: refused.get(k) for k in keys},
                         empty=[s for s in streams if s not in held])
        self.vault.learn(t, keys={s: data_keys.get(s) for s in subjects})

    async def prepare_claims(self, digests: Collection[bytes]) -> None:
        async with self.real.pool.acquire() as conn:
            held = {bytes(r["digest"]): r["agent"] for r in await conn.fetch(
                "SELECT digest, agent FROM identity_digests"
                " WHERE tenant = $1 AND digest = ANY($2::bytea[])", self.tenant, list(digests))}
        self.vault.learn(self.tenant, holders={d: held.get(d) for d in digests})

    async def commit(self) -> bool:
        """Record the batch; False: someone else recorded meanwhile, nothing of the
        batch was written and it stands on the ledger as it is now, to be judged again."""
        if not self.record:
            return True
        events, keys, refusals = self.store.layered(self.tenant)
        made, destroyed, erased, claims = self.vault.layered(self.tenant)
        clock = await self.store.clock(self.tenant)
        try:
            async with self.real.pool.acquire() as conn, conn.transaction():
                if made or destroyed or erased or claims:
                    # Before the head, as a join through the API takes them.
                    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                                       f"identities:{self.tenant}")
                found = await self._lock_head(conn)
                if found is None:
                    raise _Moved
                head, prev = found
                recorded_at: datetime = await conn.fetchval("SELECT clock_timestamp()")
                rows, prev = self._chained(events, head, prev, recorded_at)
                await conn.copy_records_to_table("events", records=rows, columns=_EVENT_COLUMNS)
                await conn.copy_records_to_table(
                    "idempotency_keys", columns=("tenant", "key", "first_position",
                                                 "last_position", "recorded_at"),
                    records=[(self.tenant, k, a.first_position, a.last_position, recorded_at)
                             for k, a in keys.items()])
                await conn.copy_records_to_table(
                    "refusals", records=map(self._refusal_row, refusals),
                    columns=_REFUSAL_COLUMNS)
                await self._vault_changes(conn, made, destroyed, erased, claims)
                if events:
                    last = head + len(events)
                    await conn.execute("UPDATE chain_heads SET position = $2, hash = $3"
                                       " WHERE tenant = $1", self.tenant, last, prev)
                    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL,
                                       f"{self.tenant}\n{last}")
        except (_Moved, asyncpg.UniqueViolationError):
            # A key, refusal or personal data key recorded by another writer meanwhile
            # without moving the head; or the head moved.
            self._head = None
            await self._stand()
            return False
        self._stand_on(head + len(events), clock)
        return True

    async def _lock_head(self, conn: Conn) -> tuple[int, bytes] | None:
        """The head, locked, if it is where the batch stands."""
        sql = "SELECT position, hash FROM chain_heads WHERE tenant = $1 FOR UPDATE"
        row = await conn.fetchrow(sql, self.tenant)
        if row is None:
            await conn.execute("INSERT INTO chain_heads VALUES ($1, 0, $2)"
                               " ON CONFLICT DO NOTHING", self.tenant, GENESIS)
            row = await conn.fetchrow(sql, self.tenant)
        assert row is not None
        if row["position"] != self._head:
            return None
        return row["position"], bytes(row["hash"])

    def _chained(self, events: list[RecordedEvent], head: int, prev: bytes,
                 recorded_at: datetime) -> tuple[list[tuple[object, ...]], bytes]:
        rows: list[tuple[object, ...]] = []
        last: object = None  # the events of one command share their metadata: made once
        meta, text = b"", ""
        for e in events:
            if e.metadata is not last:
                last, meta = e.metadata, canonical_json(e.metadata)
                text = meta.decode()
            digest = event_digest(self.tenant, e.stream, e.version, e.name, e.payload, meta,
                                  e.business_time)
            assert e.position == head + len(rows) + 1
            h = link(prev, e.position, recorded_at, digest)
            rows.append((self.tenant, e.position, e.stream, e.version, e.name, e.payload,
                         text, e.business_time, recorded_at, prev, h))
            prev = h
        return rows, prev

    def _refusal_row(self, r: RememberedRefusal) -> tuple[object, ...]:
        return (self.tenant, r.key, r.command, r.rule, json.dumps(dict(r.numbers)), r.actor,
                r.agent, r.business_time, r.request_id, r.head_position)

    async def _vault_changes(self, conn: Conn, made: dict[str, bytes],
                             destroyed: list[str], erased: list[str],
                             claims: dict[bytes, str]) -> None:
        t, kek = self.tenant, self.real_vault.kek
        if made:
            inserted = await conn.fetch(
                "INSERT INTO personal_data_keys (tenant, subject, wrapped, kek)"
                " SELECT $1, w.s, w.k, kek FROM unnest($2::text[], $3::bytea[]) AS w(s, k),"
                " personal_data_kek WHERE kek = $4"
                " ON CONFLICT (tenant, subject) DO NOTHING RETURNING subject",
                t, list(made), [kek.wrap(t, s, k) for s, k in made.items()], kek.id)
            if len(inserted) != len(made):  # made meanwhile (or the KEK rotated): again
                raise _Moved
        if destroyed:
            await conn.execute("DELETE FROM personal_data_keys WHERE tenant = $1"
                               " AND subject = ANY($2::text[])", t, destroyed)
        if erased:
            await conn.execute("DELETE FROM identity_digests WHERE tenant = $1"
                               " AND agent = ANY($2::text[])", t, erased)
        if claims:
            await conn.execute(
                "INSERT INTO identity_digests (tenant, digest, agent)"
                " SELECT $1, w.d, w.a FROM unnest($2::bytea[], $3::text[]) AS w(d, a)"
                " ON CONFLICT (tenant, digest) DO UPDATE SET agent = EXCLUDED.agent,"
                " claimed_at = now()", t, list(claims), list(claims.values()))


class _Moved(Exception):
    """Someone else recorded meanwhile."""
