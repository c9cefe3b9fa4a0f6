"""What a route may ask for, as Annotated dependencies: the services, who is asking (one
dependency per role set, so no route repeats a permission check inline), paging, and
read-your-writes."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Query, Request
from fastapi.security import HTTPBearer

from api.errors import ApiError, ApiRule
from api.schemas.common import Page
from api.tokens import TokenBook
from config.settings import Settings
from domain.ledger import Ledger
from eventstore.database import Pool
from eventstore.errors import UNAVAILABLE, DatabaseUnavailable
from eventstore.postgres import PostgresEventStore
from eventstore.principals import HQ_ROLES, Principal, Role
from projections import progress

T = TypeVar("T")


@dataclass
class Services:
    settings: Settings
    tenant: str
    pool: Pool
    store: PostgresEventStore
    ledger: Ledger  # with a SharedAggregateCache: requests run concurrently
    tokens: TokenBook


def services_of(request: Request) -> Services:
    """The app's services; DatabaseUnavailable (503) while its database is not open yet
    (api/startup.py)."""
    services: Services | None = request.app.state.services
    if services is None:
        raise DatabaseUnavailable("waiting for the database")
    return services


async def _services(request: Request) -> Services:
    # async: FastAPI runs a plain `def` dependency in a worker thread, a thread hop on
    # every request for a dictionary look-up.
    return services_of(request)


ServicesDep = Annotated[Services, Depends(_services)]


class RoleCheck(HTTPBearer):
    """Who is asking, admitted only in one of `roles`: 401 `unauthenticated` without a
    valid bearer token, 403 `forbidden` for the other roles.

    One dependency that is itself the bearer security scheme (so /docs shows
    "Authorize"), rather than a chain of scheme, token look-up and role check: FastAPI
    spends its time per dependency it solves, on every request."""

    def __init__(self, *roles: Role) -> None:
        super().__init__(auto_error=False, scheme_name="HTTPBearer",
                         description="`Authorization: Bearer wl_…`")
        self.roles = frozenset(roles)

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        return await self._check(request)

    async def _check(self, request: Request) -> Principal:
        credentials = await super().__call__(request)
        challenge = {"WWW-Authenticate": "Bearer"}
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise ApiError(401, ApiRule.UNAUTHENTICATED, "a bearer token is required",
                           headers=challenge)
        services = services_of(request)
        principal = await services.tokens.find(credentials.credentials)
        if principal is None:
            raise ApiError(401, ApiRule.UNAUTHENTICATED, "unknown, expired or revoked token",
                           headers=challenge)
        if principal.role not in self.roles:
            raise ApiError(403, ApiRule.FORBIDDEN,
                           f"the {principal.role.value} role may not do this",
                           role=principal.role.value)
        return principal


_NOT_TOLD: tuple[type[Exception], ...] = (ApiError, DatabaseUnavailable, *UNAVAILABLE)


class MaybeRoleCheck(RoleCheck):
    """RoleCheck for a route anyone may call, which tells `roles` more: the principal if
    it holds one of them, else None (no token, another role, or a token that cannot be
    checked now, the database being away), never a 401 or 403."""

    async def __call__(self, request: Request) -> Principal | None:  # type: ignore[override]
        try:
            return await self._check(request)
        except _NOT_TOLD:
            return None


AD, OP, CO, AU, AG = Role.ADMIN, Role.OPERATIONS, Role.COMPLIANCE, Role.AUDITOR, Role.AGENT
# Who may do what, for the API and the console alike (console/pages.py).
# Reads of the whole brand: every HQ role and the auditor.
HQ_READERS = HQ_ROLES
# Agents, stock, sales, settlement: HQ operations.
OPERATORS = (AD, OP)
# Policy, alerts, disputes, erasure: the compliance officer.
COMPLIANCE = (AD, CO)
# Warn, suspend, reinstate, terminate, tick, open a dispute: operations or compliance.
STEWARDS = (AD, OP, CO)

# Anyone with a valid token.
CurrentPrincipal = Annotated[Principal, Depends(RoleCheck(*Role))]
HQReader = Annotated[Principal, Depends(RoleCheck(*HQ_READERS))]
# The same, or None for anyone else (/health's details).
MaybeHQReader = Annotated[Principal | None, Depends(MaybeRoleCheck(*HQ_READERS))]
Operator = Annotated[Principal, Depends(RoleCheck(*OPERATORS))]
Compliance = Annotated[Principal, Depends(RoleCheck(*COMPLIANCE))]
Steward = Annotated[Principal, Depends(RoleCheck(*STEWARDS))]
# An agent's self-service.
AgentSelf = Annotated[Principal, Depends(RoleCheck(AG))]

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=r"^[!-~]{1,200}$",
        description="Repeat a command safely: the same key from the same principal answers"
        " as the first time and records nothing new.",
    ),
]
IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", max_length=100,
           description="The ETag of the stream you read; 412 if it changed since."),
]
Limit = Annotated[int, Query(ge=1, le=500, description="items per page")]
Cursor = Annotated[str | None, Query(max_length=300, description="next_cursor of the page before")]
MinPosition = Annotated[
    int | None,
    Query(ge=0, le=2**62, description="read your writes: wait (up to 2 s) until the read"
          " model has applied this log position (a command's last_position)"),
]


def page_of(found: Sequence[T], limit: int, key: Callable[[T], tuple[Any, ...]]) -> Page[T]:
    """A page from `found`, fetched with limit + 1: the extra item only says there is more,
    and the last item's key is where the next page starts."""
    items = list(found[:limit])
    more = len(found) > limit
    return Page(items=items, next_cursor=encode_cursor(*key(items[-1])) if more else None)


def encode_cursor(*key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode()


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    if cursor is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError:
        raise ApiError(400, ApiRule.BAD_CURSOR, "the cursor is not one this API gave") from None
    if not isinstance(key, list) or len(key) != arity or not all(
        isinstance(k, str | int) and not isinstance(k, bool) for k in key
    ):
        raise ApiError(400, ApiRule.BAD_CURSOR, "the cursor is not one this API gave")
    return key


def decode_position(cursor: str | None) -> int:
    """A cursor holding one log position (0: from the start)."""
    key = decode_cursor(cursor, 1)
    if key is None:
        return 0
    if not isinstance(key[0], int) or key[0] < 0:
        raise ApiError(400, ApiRule.BAD_CURSOR, "the cursor is not one this API gave")
    return key[0]


FRESH_WAIT = 2.0


async def fresh(services: Services, projection: str, min_position: int | None) -> None:
    """Wait until read model `projection` has applied `min_position` (read-your-writes)."""
    if min_position is None:
        return
    head = await services.store.head(services.tenant)
    if min_position > head:
        raise ApiError(422, ApiRule.UNKNOWN_POSITION, "no such position in the log yet",
                       min_position=min_position, head=head)
    deadline = time.monotonic() + FRESH_WAIT
    while True:
        reached = await progress.position(services.pool, projection, services.tenant) or 0
        if reached >= min_position:
            return
        if time.monotonic() > deadline:
            raise ApiError(503, ApiRule.PROJECTION_BEHIND, f"the {projection} read model is behind",
                           headers={"Retry-After": "1"}, reached=reached,
                           min_position=min_position)
        await asyncio.sleep(0.02)
