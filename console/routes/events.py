"""事件 Events: the log filtered by stream, kind and day, a page at a time; any event by
position with its payload (personal data sealed), hashes and signing checkpoint."""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from fastapi.responses import HTMLResponse

from console.data import events as data
from console.pages import Reader, partial, render
from console.routes import page_router
from console.routes.inputs import day, whole

router = page_router()


class Where(NamedTuple):
    stream: str | None
    kind: str | None
    first: date | None
    last: date | None


def _text(value: str | None, longest: int = 200) -> str | None:
    value = (value or "").strip()
    return value[:longest] if value else None


@router.get("/console/events")
async def events(visit: Reader, stream: str | None = None, kind: str | None = None,
                 first: str | None = None, last: str | None = None,
                 after: str | None = None, position: str | None = None) -> HTMLResponse:
    wanted = whole(position, 1)
    if wanted is not None:
        return await event(visit, wanted)
    where = Where(_text(stream), _text(kind), day(first), day(last))
    found = await data.events(visit.services, stream=where.stream, name=where.kind,
                              first_day=where.first, last_day=where.last,
                              after=whole(after) or 0)
    if visit.htmx:
        return partial(visit, "events/_rows.html", found=found, where=where)
    return render(visit, "events/index.html", found=found, where=where)


@router.get("/console/events/{position}")
async def event_at(visit: Reader, position: str) -> HTMLResponse:
    """Typed into the address bar too: anything but a position the log can hold (a
    number beyond a bigint, once a 500 from the driver) is an event not found."""
    return await event(visit, whole(position, 1))


async def event(visit: Reader, position: int | None) -> HTMLResponse:
    found = None if position is None else await data.event(visit.services, position)
    return render(visit, "events/event.html", 200 if found else 404, found=found,
                  position=position or "")
