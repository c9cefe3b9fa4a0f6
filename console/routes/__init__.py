"""The console's routes, one module per page (its route, and its partials'). A new
page is one more module here, one more line in routers(), and one more line in
console/app.py's NAVIGATION if it belongs in the menu."""

from __future__ import annotations

from fastapi import APIRouter


def page_router() -> APIRouter:
    """A page module's router: out of the API's OpenAPI document."""
    return APIRouter(include_in_schema=False)


def routers() -> list[APIRouter]:
    from console.routes import agents, events, genealogy, overview, session, users

    return [session.router, overview.router, agents.router, genealogy.router, events.router,
            users.router]
