"""总览 Overview: the brand at a glance (the first of the console's pages)."""

from __future__ import annotations

from fastapi.responses import HTMLResponse

from console.pages import Reader, render
from console.routes import page_router

router = page_router()


@router.get("/console/")
async def overview(visit: Reader) -> HTMLResponse:
    services = visit.services
    head = await services.store.head(services.tenant)
    return render(visit, "overview.html", head=head)
