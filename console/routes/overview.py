"""总览 Overview: the brand at a glance (the first of the console's pages)."""

from __future__ import annotations

from fastapi.responses import HTMLResponse

from console.pages import Reader, Visit, partial, render
from console.routes import page_router

router = page_router()


@router.get("/console/")
async def overview(visit: Reader) -> HTMLResponse:
    return render(visit, "overview.html", head=await chain_head(visit))


@router.get("/console/overview/chain")
async def chain(visit: Reader) -> HTMLResponse:
    """The chain's tile, which the page refreshes by itself (htmx)."""
    return partial(visit, "overview/_chain.html", head=await chain_head(visit))


async def chain_head(visit: Visit) -> int:
    return await visit.services.store.head(visit.services.tenant)
