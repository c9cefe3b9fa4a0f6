"""Running one command from HTTP: the journal's parser, the ledger, idempotency, If-Match.

Every command endpoint builds the journal line its body stands for and hands it to
domain.journal.parse_command, so an endpoint takes exactly the fields of its journal command
and means what the importer means. Ledger.handle judges it.

Idempotency: the client's key is scoped to the tenant (by the store) and the principal
(here: `api:<principal>:<key>`), so nobody can replay another principal's command. The
store records a key once, even for two requests at the same time; the one that did not
record gets `replayed` with the first request's positions. The answer is rebuilt from
the log (positions; policy version from the first event's metadata), so a retry
answers exactly as the first time without a table of stored responses. The body's
fingerprint rides in the events' request_id: the same key with a different body is
refused (422 idempotency-key-reused) instead of silently answering for another command.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import uuid
from datetime import datetime
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import Services
from api.errors import ApiError, ApiRule, problems
from domain.business_time import rules as time_rules
from domain.errors import Rule, judge
from domain.handling import Accepted, Context
from domain.journal import Malformed, parse_command
from domain.periods import CST
from eventstore.principals import Principal

log = logging.getLogger(__name__)
_NULL_MEANS_HQ = frozenset({"sponsor", "seller"})


def command_options(*statuses: int) -> dict[str, Any]:
    """What every command route declares: 201 with CommandAccepted, or these problems."""
    return {"status_code": 201, "response_model": CommandAccepted,
            "responses": problems(*statuses)}


class CommandAccepted(BaseModel):
    """A command judged and recorded. Use last_position as min_position to read it back."""

    command: str = Field(examples=["sale"])
    first_position: int | None = Field(description="first log position it recorded")
    last_position: int | None = Field(description="last log position it recorded")
    policy_version: int | None = Field(description="the policy version that judged it")


class SaleAccepted(CommandAccepted):
    sale: str = Field(description="the id the server gave the sale",
                      examples=["S-3f9a0c1d2e4b5a6978c0"])


class DisputeAccepted(CommandAccepted):
    dispute: str = Field(description="the id the server gave the dispute",
                         examples=["D-3f9a0c1d2e4b5a6978c0"])


def assigned_id(prefix: str, principal: Principal, idempotency_key: str | None) -> str:
    """The id the server gives an agent's own sale or dispute (never the client's: an id
    of the agent's choosing answered duplicate-sale for another agent's, so told that it
    exists). From the principal and its Idempotency-Key when there is one, so that a
    retry names the same record and answers as the first time; random otherwise."""
    if idempotency_key is None:
        return f"{prefix}-{secrets.token_hex(10)}"
    scoped = f"{principal.tenant}\x00{principal.principal}\x00{idempotency_key}"
    return f"{prefix}-{hashlib.sha256(scoped.encode()).hexdigest()[:20]}"


def etag(version: int) -> str:
    return f'"{version}"'


async def stream_version(services: Services, stream: str) -> int:
    last = await services.store.read_stream(services.tenant, stream, desc=True, limit=1)
    return last[0].version if last else 0


async def check_if_match(services: Services, stream: str, if_match: str | None) -> None:
    """412 unless If-Match names the stream's current version (or is absent, or `*`
    for a stream that exists). Checked just before the command: the domain's own
    optimistic concurrency still guards the append itself."""
    if if_match is None:
        return
    version = await stream_version(services, stream)
    wanted = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if ("*" in wanted and version > 0) or etag(version) in wanted:
        return
    raise ApiError(412, ApiRule.STALE_VERSION, "the stream changed since you read it",
                   headers={"ETag": etag(version)}, current=etag(version))


def _fingerprint(name: str, fields: dict[str, Any]) -> str:
    canonical = json.dumps([name, fields], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]


async def run(
    services: Services,
    principal: Principal,
    name: str,
    fields: dict[str, Any],
    idempotency_key: str | None,
    *,
    if_match: tuple[str, str | None] | None = None,
    assigned: dict[str, str] | None = None,
) -> JSONResponse:
    """Judge and record the journal command `name` with `fields` as `principal` says it.

    `fields` are the client's; `at` is now (CST) for an agent's own command, and for HQ's
    unless it gives one, never ahead of now (beyond a small skew: future-time).
    `assigned`: ids the server gave (assigned_id), among `fields` and answered beside the
    positions."""
    # null sponsor / seller means HQ; any other null means "not given".
    fields = {k: v for k, v in fields.items() if v is not None or k in _NULL_MEANS_HQ}
    client_fields = dict(fields)  # fingerprinted once parsed: a lone surrogate is no UTF-8
    now = datetime.now(CST)
    if principal.agent is not None:
        fields.pop("at", None)  # an agent never chooses the business time
    given = "at" in fields
    fields.setdefault("at", now.isoformat(timespec="seconds"))
    try:
        command = parse_command({"cmd": name, **fields})
    except Malformed as error:
        problem = ApiError(422, Rule.MALFORMED, str(error))
        problem.numbers = dict(error.numbers)
        raise problem from None
    if given:
        judge(time_rules.future_time(command.at, now))  # type: ignore[attr-defined]
    fingerprint = _fingerprint(name, client_fields)
    if if_match is not None:
        await check_if_match(services, *if_match)
    key = f"api:{principal.principal}:{idempotency_key}" if idempotency_key else None
    ctx = Context(services.tenant, principal.actor, key,
                  request_id=f"{uuid.uuid4().hex[:12]}:{fingerprint}")
    try:
        accepted = await services.ledger.handle(ctx, command)
    except (ValueError, TypeError, KeyError, OverflowError) as error:
        # The domain checks shapes it alone knows (a policy document's fields): the
        # request is malformed, not the service broken.
        log.info("command %s malformed: %r", name, error)
        raise ApiError(422, Rule.MALFORMED, f"{name}: {error}") from None
    headers = {}
    if accepted.replayed:
        accepted = await _first_answer(services, accepted, fingerprint)
        headers["Idempotent-Replayed"] = "true"
    body = CommandAccepted(
        command=name,
        first_position=accepted.first_position,
        last_position=accepted.last_position,
        policy_version=accepted.policy_version,
    )
    return JSONResponse({**body.model_dump(), **(assigned or {})}, 201, headers=headers)


async def _first_answer(services: Services, accepted: Accepted, fingerprint: str) -> Accepted:
    if accepted.first_position is None:
        return accepted
    first = await services.store.read_all(
        services.tenant, after=accepted.first_position - 1, limit=1
    )
    if not first:
        return accepted
    metadata = first[0].metadata
    if str(metadata.get("request_id") or "").rpartition(":")[2] != fingerprint:
        raise ApiError(422, ApiRule.IDEMPOTENCY_KEY_REUSED,
                       "this Idempotency-Key was used for a different command")
    version = metadata.get("policy_version")
    return Accepted(accepted.first_position, accepted.last_position, True,
                    version if isinstance(version, int) else None)
