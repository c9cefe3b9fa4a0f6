"""事件 Events: any event by position, its payload readable with personal data masked
(sealed in the payload under the agent's own key: shown as "<sealed>", never opened
here), its hash and the previous one, and the checkpoint that signs it; the log filtered
by stream, kind and date, a page at a time by position."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from api.deps import Services
from api.events import fields_of
from domain.periods import cst_day_end
from domain.ports import RecordedEvent
from eventstore.reads import event_at, events_where
from export.checkpoints import signing

PAGE = 50
_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class EventRow:
    position: int
    stream: str
    version: int
    name: str
    business_time: datetime
    recorded_at: datetime
    actor: str | None
    fields: dict[str, Any]  # personal data sealed (api.events.fields_of): for its sentence


@dataclass(frozen=True, slots=True)
class EventView:
    row: EventRow
    command: str | None
    policy_version: int | None
    hash: str  # hex
    prev_hash: str
    checkpoint: dict[str, Any] | None  # the CheckpointSigned fields; None: not signed yet


@dataclass(frozen=True, slots=True)
class EventsPage:
    rows: tuple[EventRow, ...]
    next_after: int | None


def _row(e: RecordedEvent) -> EventRow:
    actor = e.metadata.get("actor")
    return EventRow(e.position, e.stream, e.version, e.name, e.business_time, e.recorded_at,
                    None if actor is None else str(actor), fields_of(e))


async def event(services: Services, position: int) -> EventView | None:
    found = await event_at(services.pool, services.tenant, position)
    if found is None:
        return None
    meta = found.metadata
    version = meta.get("policy_version")
    command = meta.get("command")
    return EventView(
        row=_row(found), command=None if command is None else str(command),
        policy_version=version if isinstance(version, int) else None,
        hash=found.hash.hex(), prev_hash=found.prev_hash.hex(),
        checkpoint=await signing(services.store, services.tenant, position),
    )


async def events(services: Services, *, stream: str | None = None, name: str | None = None,
                 first_day: date | None = None, last_day: date | None = None,
                 after: int = 0, limit: int = PAGE) -> EventsPage:
    """Events dated on the CST days first_day..last_day (both included; None: open)."""
    since = None if first_day is None else cst_day_end(first_day) - _DAY
    until = None if last_day is None else cst_day_end(last_day)
    found = await events_where(services.pool, services.tenant, stream=stream, name=name,
                               since=since, until=until, after=after, limit=limit + 1)
    more = len(found) > limit
    rows = [_row(e) for e in found[:limit]]
    return EventsPage(tuple(rows), rows[-1].position if more else None)
