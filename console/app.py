"""The HQ console in the service's app: its templates, its static files (vendored, no
CDN), its routes, the guard in front of them (CSRF and Origin), and the API docs served
from the same vendored assets. `mount` is called once, by api.app.create_app."""

from __future__ import annotations

import os
import secrets
from functools import partial as bind
from pathlib import Path
from typing import Any

from asgi_csrf import asgi_csrf
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.types import ASGIApp, HTTPExceptionHandler, Message, Receive, Scope, Send

from config.settings import Settings
from console import i18n
from console.formats import FILTERS, LANGUAGE_FILTERS
from console.pages import NotPermitted, SignInFirst, render, render_public, sign_in_url
from console.sentences import movement, sentence
from eventstore.errors import ROLLED_BACK, UNAVAILABLE, DatabaseUnavailable

HERE = Path(__file__).parent
STATIC = "/console/static"
VENDOR = f"{STATIC}/vendor"
CSRF_COOKIE = "wl_csrf"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Pages load only what the service serves, and run no inline script (styles may be
# inline: ECharts' tooltips carry theirs).
POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline';"
          " img-src 'self' data:; connect-src 'self'; frame-ancestors 'none';"
          " base-uri 'none'; form-action 'self'")
# The navigation, in order: (path, label). The label is a message id (base.html
# translates it). A page is one more line here and one more module in console/routes.
NAVIGATION = [
    ("/console/", i18n.N_("Overview")),
    ("/console/agents", i18n.N_("Agents")),
    ("/console/genealogy", i18n.N_("Genealogy")),
    ("/console/events", i18n.N_("Events")),
]


class Templates:
    """One Jinja environment per language, each with its catalogue installed."""

    def __init__(self) -> None:
        self._environments = {language: self._environment(language)
                              for language in i18n.LANGUAGES}

    def environment(self, language: str) -> Environment:
        return self._environments[language]

    @staticmethod
    def _environment(language: str) -> Environment:
        environment = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(default=True),
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True, lstrip_blocks=True,
        )
        translations = i18n.translations(language)
        environment.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
        environment.filters.update(FILTERS)
        environment.filters.update({name: bind(f, translations)
                                    for name, f in LANGUAGE_FILTERS.items()})
        # Beside formats' filters, not among them: a sentence uses them (money, tier).
        environment.filters["sentence"] = bind(sentence, translations)
        environment.filters["movement"] = bind(movement, translations)
        environment.globals.update(
            static=STATIC, vendor=VENDOR, navigation=NAVIGATION, languages=i18n.LANGUAGES,
            html_lang=i18n.HTML_LANG[language],
        )
        return environment


def csrf_secret(settings: Settings) -> str:
    """The key that signs CSRF cookies, the same in every serving process: the setting,
    else <keys>/console-secret, made by whichever process starts first."""
    if settings.console_secret is not None:
        return settings.console_secret.get_secret_value()
    path = settings.keys_folder() / "console-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole beside it, then linked into place: a process starting at the
        # same time reads one secret or the other's, never half of one.
        draft = path.with_name(f".console-secret-{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # the other's came first: take it
        finally:
            draft.unlink()
    return path.read_text().strip()


class ConsoleGuard:
    """In front of /console: a state-changing request must come from the console's own
    origin (Origin, else Referer) and carry the CSRF token of its cookie (asgi-csrf: a
    form's `csrftoken` field or the `x-csrftoken` header, which base.html gives every
    htmx request). The CSRF cookie is SameSite=Strict, and Secure over https. Pages get
    security headers. The API (/v1, bearer tokens) passes untouched."""

    def __init__(self, app: ASGIApp, secret: str) -> None:
        self.app = app
        self.checked = {
            secure: asgi_csrf(app, cookie_name=CSRF_COOKIE, signing_secret=secret,
                              cookie_secure=secure, cookie_samesite="Strict",
                              cookie_path="/console", always_protect=set(),
                              send_csrf_failed=_csrf_failed)
            for secure in (False, True)
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/console"):
            await self.app(scope, receive, send)
            return
        if scope["method"] in UNSAFE and not self._same_origin(scope):
            await refusal(scope, FOREIGN)(scope, receive, send)
            return
        if scope["method"] in UNSAFE and not _header(scope, b"cookie"):
            # asgi-csrf lets a request without cookies through; the console has no
            # request that may change anything without them.
            await refusal(scope, STALE)(scope, receive, send)
            return
        static = path.startswith(STATIC)

        async def guarded(message: Message) -> None:
            if message["type"] == "http.response.start" and not static:
                message["headers"] = [*message.get("headers", []),
                                      (b"content-security-policy", POLICY.encode()),
                                      (b"x-frame-options", b"DENY"),
                                      (b"x-content-type-options", b"nosniff"),
                                      (b"referrer-policy", b"same-origin"),
                                      (b"cache-control", b"no-store")]
            await send(message)

        await self.checked[scope.get("scheme") == "https"](scope, receive, guarded)

    @staticmethod
    def _same_origin(scope: Scope) -> bool:
        own = f"{scope.get('scheme', 'http')}://{_header(scope, b'host')}"
        origin = _header(scope, b"origin")
        if origin:
            return origin == own
        referer = _header(scope, b"referer")
        return referer == own or referer.startswith(own + "/")


FOREIGN = i18n.N_("Refused: this request did not come from the console.")
STALE = i18n.N_("Refused: the form has expired or was not the console's. Reload the page"
                " and try again.")


def refusal(scope: Scope, message: str) -> Response:
    language = i18n.language_of(Request(scope))
    text = str(i18n.translations(language).gettext(message))
    return Response(text, 403, media_type="text/plain")


async def _csrf_failed(scope: Scope, send: Send, _reason: object) -> None:
    async def nothing() -> Message:
        return {"type": "http.request", "body": b""}

    await refusal(scope, STALE)(scope, nothing, send)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return ""


def mount(app: FastAPI, settings: Settings) -> None:
    from console.routes import routers

    app.state.console = Templates()
    app.mount(STATIC, StaticFiles(directory=HERE / "static"), name="console-static")
    for router in routers():
        app.router.routes.extend(router.routes)  # flat, as the API's (api/app.py)
    app.add_middleware(ConsoleGuard, secret=csrf_secret(settings))

    async def sign_in_first(request: Request, error: Exception) -> Response:
        assert isinstance(error, SignInFirst)
        if request.headers.get("HX-Request") == "true":
            return Response(status_code=401, headers={"HX-Redirect": sign_in_url(error.then)})
        return RedirectResponse(sign_in_url(error.then), 303)

    async def not_permitted(request: Request, error: Exception) -> Response:
        assert isinstance(error, NotPermitted)
        return render(error.visit, "refused.html", 403)

    app.add_exception_handler(SignInFirst, sign_in_first)
    app.add_exception_handler(NotPermitted, not_permitted)
    away: tuple[type[Exception], ...] = (DatabaseUnavailable, *UNAVAILABLE, *ROLLED_BACK)
    for lost in away:  # api.errors answers these as a database away (503) or a conflict
        api_answer: HTTPExceptionHandler = app.exception_handlers[lost]
        app.add_exception_handler(lost, _page_while_away(api_answer))
    mount_docs(app)


def _page_while_away(api_answer: HTTPExceptionHandler) -> HTTPExceptionHandler:
    """The API's answer to a database that is away is a problem+json 503; a person at
    the console is shown a page in their language instead (it cannot say who they are:
    that needs the database too). Anything else that handler answers (a conflict, 409)
    is left as it is."""

    async def answer(request: Request, error: Exception) -> Response:
        given = api_answer(request, error)
        if not isinstance(given, Response):
            given = await given
        if given.status_code != 503 or not request.url.path.startswith("/console"):
            return given
        retry = given.headers["Retry-After"]
        page = render_public(request, "unavailable.html", 503, retry=retry)
        page.headers["Retry-After"] = retry
        return page

    return answer


# The docs pages start their viewers with an inline script (FastAPI's), and ReDoc parses
# in a worker; anything else they would fetch from elsewhere (ReDoc's logo is on a CDN)
# the browser does not even ask for.
DOCS_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline';"
               " style-src 'self' 'unsafe-inline'; img-src 'self' data:;"
               " worker-src 'self' blob:; connect-src 'self'")


def mount_docs(app: FastAPI) -> None:
    """/docs (Swagger UI) and /redoc from the vendored assets: they work offline."""
    swagger = f"{VENDOR}/swagger-ui"
    openapi = app.openapi_url or "/openapi.json"
    parameters: dict[str, Any] = {"validatorUrl": None}  # no badge from a validator online

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=openapi, title=f"{app.title} API",
            swagger_js_url=f"{swagger}/swagger-ui-bundle.js",
            swagger_css_url=f"{swagger}/swagger-ui.css",
            swagger_favicon_url=f"{swagger}/favicon-32x32.png",
            swagger_ui_parameters=parameters)
        page.headers["Content-Security-Policy"] = DOCS_POLICY
        return page

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        page = get_redoc_html(
            openapi_url=openapi, title=f"{app.title} API",
            redoc_js_url=f"{VENDOR}/redoc/redoc.standalone.js",
            redoc_favicon_url=f"{swagger}/favicon-32x32.png", with_google_fonts=False)
        page.headers["Content-Security-Policy"] = DOCS_POLICY
        return page
