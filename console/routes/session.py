"""Signing in and out, and choosing the language."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import services_of
from console import i18n
from console.formats import china_time
from console.pages import SESSION_COOKIE, Reader, render_public
from console.routes import page_router
from eventstore.sign_in import Lockout, end_session, open_session, sign_in

router = page_router()
HOME = "/console/"


def back_to(then: str | None) -> str:
    """Where to go after signing in: a console path, never another site."""
    if then and then.startswith("/console") and not then.startswith("//"):
        return then
    return HOME


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


@router.get("/console/sign-in")
async def sign_in_page(request: Request, then: str | None = None) -> HTMLResponse:
    return render_public(request, "sign_in.html", then=back_to(then))


@router.post("/console/sign-in")
async def sign_in_form(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
    then: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    services = services_of(request)
    settings = services.settings
    lockout = Lockout(settings.lockout_after, settings.lockout_seconds,
                      settings.lockout_max_seconds)
    found = await sign_in(services.pool, services.tenant, username.strip().lower(), password,
                          lockout)
    if found.principal is None:
        translations = i18n.translations(i18n.language_of(request))
        if found.locked_until is not None:
            error = str(translations.gettext(
                "Too many wrong passwords: try again after %(time)s.")) % {
                "time": china_time(found.locked_until, seconds=True)}
            status = 429
        else:
            error = str(translations.gettext("Wrong username or password."))
            status = 401
        return render_public(request, "sign_in.html", status, then=back_to(then),
                             error=error, username=username)
    secret = await open_session(services.pool, found.principal,
                                timedelta(hours=settings.session_max_hours))
    answer = RedirectResponse(back_to(then), 303)
    answer.set_cookie(SESSION_COOKIE, secret, httponly=True, samesite="strict",
                      secure=secure(request), path="/console",
                      max_age=int(settings.session_max_hours * 3600))
    return answer


@router.post("/console/sign-out")
async def sign_out(visit: Reader) -> Response:
    secret = visit.request.cookies.get(SESSION_COOKIE, "")
    await end_session(visit.services.pool, visit.services.tenant, secret)
    answer = RedirectResponse("/console/sign-in", 303)
    answer.delete_cookie(SESSION_COOKIE, path="/console", httponly=True, samesite="strict",
                         secure=secure(visit.request))
    return answer


@router.post("/console/language")
async def choose_language(
    request: Request,
    language: Annotated[str, Form()],
    then: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    """Anyone may choose (the sign-in page too); remembered for a year."""
    answer = RedirectResponse(back_to(then), 303)
    if language in i18n.LANGUAGES:
        answer.set_cookie(i18n.COOKIE, language, max_age=365 * 24 * 3600, path="/console",
                          samesite="strict", secure=secure(request))
    return answer
