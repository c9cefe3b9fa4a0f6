"""Every error as RFC 9457 problem+json, with a stable `rule` code and its numbers.

One error class knows its HTTP status (ApiError); one handler renders it. A refused
command (domain.errors.Refused) becomes an ApiError here: 409 for the rules that say
"this already exists or is already done" (a conflict with what the ledger holds), 422
for every other rule (the command is understood and judged, and breaks a rule).
Request validation errors are 422 problems too, with rule `invalid-request`. A command
that lost the race for the same records to other commands every time it was judged again
is a 409 `concurrent-change` with Retry-After: nothing of it was recorded, and sending it
again (with the same Idempotency-Key) is safe. A database that cannot be reached (or is
not open yet) is a 503 `database-unavailable` with Retry-After, never a 500: the store's
DatabaseUnavailable, and the driver's own errors of a lost connection wherever a route
met one (eventstore.errors translates them); a transaction the database rolled back
(serialization failure, deadlock) is the 409 `concurrent-change` of a lost race.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match

from domain.errors import Refused, Rule
from domain.ports import VersionConflict
from eventstore.errors import ROLLED_BACK, UNAVAILABLE, DatabaseUnavailable, translate

PROBLEM = "application/problem+json"
RETRY_UNAVAILABLE_SECONDS = 2  # about how long a waiting service takes to find it back
CONFLICT_RULES = frozenset(
    {Rule.ALREADY_JOINED, Rule.DUPLICATE_IDENTITY, Rule.DUPLICATE_SALE,
     Rule.ALREADY_FORGOTTEN, Rule.DUPLICATE_DISPUTE, Rule.ALREADY_RESOLVED}
)


class ApiRule(StrEnum):
    """The HTTP layer's own codes (who is asking, what was asked for, how); the ledger's
    rules are domain.errors.Rule. Stable, like those: part of the API."""

    AS_OF_BOTH = "as-of-both"
    BAD_CURSOR = "bad-cursor"
    CONCURRENT_CHANGE = "concurrent-change"
    DATABASE_UNAVAILABLE = "database-unavailable"
    FORBIDDEN = "forbidden"
    HTTP_ERROR = "http-error"
    IDEMPOTENCY_KEY_REUSED = "idempotency-key-reused"
    INVALID_REQUEST = "invalid-request"
    LEDGER_NOT_INTACT = "ledger-not-intact"
    METHOD_NOT_ALLOWED = "method-not-allowed"
    NOTHING_TO_EXPORT = "nothing-to-export"
    NOT_READY = "not-ready"
    NOT_FOUND = "not-found"
    NO_SIGNING_KEY = "no-signing-key"
    PROJECTION_BEHIND = "projection-behind"
    STALE_VERSION = "stale-version"
    UNAUTHENTICATED = "unauthenticated"
    UNKNOWN_POLICY = "unknown-policy"
    UNKNOWN_POSITION = "unknown-position"
    UNKNOWN_STATEMENT = "unknown-statement"


class Problem(BaseModel):
    """RFC 9457 problem details; `rule` is stable and part of the API."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["https://weiledger.example/rules/price-floor"])
    title: str
    status: int
    rule: str = Field(description="stable rule code, e.g. price-floor or forbidden")
    detail: str | None = None
    numbers: dict[str, str | int | bool | None] = Field(
        default_factory=dict, description="the values that broke the rule (money as strings)"
    )


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        rule: Rule | ApiRule,
        detail: str | None = None,
        /,
        headers: dict[str, str] | None = None,
        **numbers: Any,
    ) -> None:
        super().__init__(f"{status} {rule}: {detail or ''}")
        self.status = status
        self.rule = rule
        self.detail = detail
        self.headers = headers or {}
        self.numbers = numbers

    @classmethod
    def refused(cls, refusal: Refused) -> ApiError:
        status = 409 if refusal.rule in CONFLICT_RULES else 422
        error = cls(status, refusal.rule, str(refusal))
        error.numbers = dict(refusal.numbers)
        return error

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://weiledger.example/rules/{self.rule}",
            "title": self.rule.replace("-", " "),
            "status": self.status,
            "rule": self.rule,
            "numbers": self.numbers,
        }
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        return body


def render(error: ApiError, request: Request) -> JSONResponse:
    return JSONResponse(
        error.problem(request.url.path), error.status, headers=error.headers, media_type=PROBLEM
    )


# What any route may answer: auth, a bad cursor, validation, a database unavailable.
ANY_ROUTE = (400, 401, 403, 422, 503)


# The answers every route can give, for the OpenAPI document.
def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    described = {
        400: "malformed request",
        401: "missing, unknown, expired or revoked bearer token",
        403: "the principal's role may not do this",
        404: "no such resource (or not yours)",
        409: "conflicts with what the ledger holds (duplicate, already done), or other"
             " commands kept changing the same records (concurrent-change: send it again)",
        412: "If-Match does not name the current version",
        422: "invalid request, or a command refused by a rule",
        503: "the database is unavailable (database-unavailable: send it again after"
             " Retry-After), or the read model has not reached min_position yet",
    }
    return {
        s: {"model": Problem, "description": described[s], "content": {PROBLEM: {}}}
        for s in statuses
    }


def allowed_methods(request: Request) -> list[str]:
    """Every method the path takes. A resource's GET and POST are two routes, and
    Starlette's 405 names only the methods of the first route whose path matched."""
    return sorted({
        method for route in request.app.router.routes
        if isinstance(route, BaseRoute) and route.matches(request.scope)[0] is not Match.NONE
        for method in getattr(route, "methods", None) or ()
    })


def install(app: FastAPI) -> None:
    async def api_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ApiError)
        return render(error, request)

    async def refused(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, Refused)
        return render(ApiError.refused(error), request)

    async def invalid(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
            for e in error.errors()
        ]
        problem = ApiError(422, ApiRule.INVALID_REQUEST, "; ".join(
            f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors
        ))
        return JSONResponse(
            {**problem.problem(request.url.path), "errors": errors}, 422, media_type=PROBLEM
        )

    async def http_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        rule = {404: ApiRule.NOT_FOUND, 405: ApiRule.METHOD_NOT_ALLOWED}.get(
            error.status_code, ApiRule.HTTP_ERROR)
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        problem = ApiError(error.status_code, rule, str(error.detail), headers=headers)
        return render(problem, request)

    async def concurrent(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, VersionConflict)
        problem = ApiError(409, ApiRule.CONCURRENT_CHANGE, "other commands changed the same records"
                           " while this one was judged; nothing was recorded: send it again",
                           headers={"Retry-After": "1"})
        return render(problem, request)

    async def unavailable(request: Request, error: Exception) -> JSONResponse:
        lost = translate(error)  # the driver's own errors too
        if isinstance(lost, VersionConflict):
            return await concurrent(request, lost)
        assert isinstance(lost, DatabaseUnavailable)
        # The reason, never the database's address: anyone may be asking.
        problem = ApiError(503, ApiRule.DATABASE_UNAVAILABLE, f"the ledger's database is"
                           f" unavailable ({lost.reason}): send it again with the same"
                           " Idempotency-Key (a command recorded already answers as the"
                           " first time)",
                           headers={"Retry-After": str(RETRY_UNAVAILABLE_SECONDS)})
        return render(problem, request)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(DatabaseUnavailable, unavailable)
    for driver_error in (*UNAVAILABLE, *ROLLED_BACK):
        app.add_exception_handler(driver_error, unavailable)
    app.add_exception_handler(VersionConflict, concurrent)
    app.add_exception_handler(Refused, refused)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
