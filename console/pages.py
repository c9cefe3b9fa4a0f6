"""What a console page route asks for and how it answers.

A page declares who may see it with one of the role dependencies below (the API's role
sets, api/deps.py), and gets a `Visit`: who is signed in, in which language, with the
services. It answers with `render(visit, "page.html", **values)` (a template extending
base.html) or, for an htmx request that swaps part of a page, `partial(visit,
"_part.html", **values)` (a template without the layout).

    router = APIRouter()

    @router.get("/console/agents")
    async def agents(visit: Reader, tier: str | None = None) -> HTMLResponse:
        found = await agents_page(visit.services.pool, visit.services.tenant, tier)
        if visit.htmx:
            return partial(visit, "agents/_rows.html", agents=found)
        return render(visit, "agents/index.html", agents=found)

Nobody signed in: a page redirects to the sign-in (an htmx request is told to, with
HX-Redirect); a role not admitted: 403. Both are decided on the server, whatever the
page showed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote

from babel.support import Translations
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from api.deps import COMPLIANCE, HQ_READERS, OPERATORS, STEWARDS, Services, services_of
from console.i18n import language_of, translations
from eventstore.principals import Principal, Role
from eventstore.sign_in import session_principal

SESSION_COOKIE = "wl_session"
SIGN_IN = "/console/sign-in"


class SignInFirst(Exception):
    """Nobody (or nobody still) signed in: to the sign-in page, then back to `then`."""

    def __init__(self, then: str) -> None:
        self.then = then


class NotPermitted(Exception):
    """Signed in, but the role may not see or do this."""

    def __init__(self, visit: Visit) -> None:
        self.visit = visit


@dataclass
class Visit:
    request: Request
    principal: Principal
    language: str
    services: Services

    @property
    def translations(self) -> Translations:
        return translations(self.language)

    @property
    def htmx(self) -> bool:
        """An htmx request (it swaps a part of the page: answer with a partial)."""
        return self.request.headers.get("HX-Request") == "true"

    def may(self, *roles: Role) -> bool:
        """Whether the page should offer an action of `roles` (the action's route checks
        again on the server)."""
        return self.principal.role in roles

    def _(self, message: str, **values: Any) -> str:
        """A message of the code in the visitor's language, `%(name)s` filled from values."""
        text = str(self.translations.gettext(message))
        return text % values if values else text


class SignedIn:
    """The visit of someone signed in with one of `roles`, from the session cookie."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, request: Request) -> Visit:
        services = services_of(request)
        secret = request.cookies.get(SESSION_COOKIE)
        settings = services.settings
        principal = None if not secret else await session_principal(
            services.pool, services.tenant, secret,
            timedelta(minutes=settings.session_idle_minutes))
        if principal is None:
            then = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise SignInFirst(then)
        visit = Visit(request, principal, language_of(request), services)
        if principal.role not in self.roles:
            raise NotPermitted(visit)
        return visit


# Pages and actions, by who may use them (the same sets as the API's).
Reader = Annotated[Visit, Depends(SignedIn(*HQ_READERS))]
Operator = Annotated[Visit, Depends(SignedIn(*OPERATORS))]
Compliance = Annotated[Visit, Depends(SignedIn(*COMPLIANCE))]
Steward = Annotated[Visit, Depends(SignedIn(*STEWARDS))]
Admin = Annotated[Visit, Depends(SignedIn(Role.ADMIN))]


def sign_in_url(then: str) -> str:
    return f"{SIGN_IN}?then={quote(then, safe='/')}"


def page_values(request: Request, language: str, **values: Any) -> dict[str, Any]:
    """What every template is given: the request, the language and the CSRF token."""
    token = request.scope["csrftoken"]()  # set by the CSRF middleware (console/app.py)
    return {"request": request, "language": language, "csrf_token": token, **values}


def render(visit: Visit, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    """A whole page (its template extends base.html), for the signed-in visitor."""
    return _respond(visit.request, visit.language, template, status,
                    visit=visit, principal=visit.principal, **values)


def partial(visit: Visit, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    """A part of a page for htmx to swap in (its template has no layout)."""
    answer = render(visit, template, status, **values)
    answer.headers["Vary"] = "HX-Request, Cookie"
    return answer


def _respond(request: Request, language: str, template: str, status: int,
             **values: Any) -> HTMLResponse:
    environment = request.app.state.console.environment(language)
    html = environment.get_template(template).render(page_values(request, language, **values))
    return HTMLResponse(html, status)


def render_public(request: Request, template: str, status: int = 200, **values: Any
                  ) -> HTMLResponse:
    """A page for someone not signed in (the sign-in itself)."""
    return _respond(request, language_of(request), template, status, visit=None,
                    principal=None, **values)
