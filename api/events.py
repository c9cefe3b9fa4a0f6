"""Recorded events as JSON for timelines and policy versions: the decoded fields, with
sealed personal data left out and every value JSON-safe (amounts in events are integer
fen, as the log holds them; Decimals become strings, never floats)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from domain.events import Codec
from domain.periods import shown
from domain.ports import RecordedEvent

_codec = Codec()
_HIDDEN = {"originator_id", "originator_version", "timestamp"}
_SEALED = {"personal"}


class EventPublic(BaseModel):
    position: int
    stream: str
    version: int
    name: str
    business_time: str
    recorded_at: str
    actor: str | None
    command: str | None
    policy_version: int | None
    data: dict[str, Any] = Field(description="the event's fields (amounts in fen)")


def plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return shown(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, float):
        return str(value)
    return value


def fields_of(event: RecordedEvent) -> dict[str, Any]:
    decoded = _codec.mapper.transcoder.decode(event.payload)
    return {
        k: ("<sealed>" if k in _SEALED else plain(v))
        for k, v in decoded.items() if k not in _HIDDEN
    }


def public(event: RecordedEvent) -> EventPublic:
    meta = event.metadata
    version = meta.get("policy_version")
    return EventPublic(
        position=event.position, stream=event.stream, version=event.version, name=event.name,
        business_time=shown(event.business_time),
        recorded_at=shown(event.recorded_at),
        actor=str(meta["actor"]) if meta.get("actor") is not None else None,
        command=str(meta["command"]) if meta.get("command") is not None else None,
        policy_version=version if isinstance(version, int) else None,
        data=fields_of(event),
    )
