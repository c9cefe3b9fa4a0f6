"""/v1/exports: the signed audit export, streamed, for the regulator and the auditor.

A plain router for api/routes/__init__.py to include (its owner adds one line there).
The zip is the one `weiledger export` writes (export/writer.py), streamed through
export/stream.py as it is written: memory stays flat, and a client that stops
reading stops the database cursors. As `weiledger export` does, it first refuses a
ledger that does not verify (chain, chain head, receipts: export/guard.py) and signs a
checkpoint through the head, so every export ends on a signed root with its receipt:
the one thing this GET records.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query
from fastapi.responses import StreamingResponse

from api.deps import RoleCheck, ServicesDep
from api.errors import ApiError, ApiRule, problems
from api.routes import resource
from api.schemas.common import BusinessDate
from eventstore.kek import kek_files
from eventstore.principals import Principal, Role
from eventstore.vault import current_kek
from export.guard import LedgerNotIntact, sign_head
from export.signing import SigningKeyError, load_private_key
from export.stream import stream_export
from export.writer import ExportError, resolve_range

router = resource("/v1/exports", "export")

# Who may take the whole ledger away: the regulator and the auditor, and at HQ the admin
# and compliance (DOMAIN.md: compliance exports for audit).
Exporter = Annotated[Principal, Depends(RoleCheck(Role.REGULATOR, Role.AUDITOR, Role.ADMIN,
                                                  Role.COMPLIANCE))]


@router.get("", responses=problems(401, 403, 404, 409, 422),
            response_class=StreamingResponse,
            summary="the signed audit export (zip), verifiable offline")
async def export(
    services: ServicesDep,
    principal: Exporter,
    since: Annotated[BusinessDate | None, Query(alias="from", description="first business "
                                                "date (CST); default: the ledger's beginning")
                     ] = None,
    until: Annotated[BusinessDate | None, Query(alias="to", description="last business date "
                                                "(CST); default: the head")] = None,
) -> StreamingResponse:
    settings = services.settings
    keys = settings.keys_folder()
    try:
        key = load_private_key(keys, principal.tenant)
    except SigningKeyError as error:
        raise ApiError(409, ApiRule.NO_SIGNING_KEY, str(error)) from error
    async with services.pool.acquire() as conn:  # refuse before the 200 goes out
        try:
            await resolve_range(conn, principal.tenant, since, until)
        except ExportError as error:
            raise ApiError(404, ApiRule.NOTHING_TO_EXPORT, str(error)) from error
        kek = await current_kek(conn, kek_files(settings))  # opens the masked names
    try:
        await sign_head(services.pool, services.store, principal.tenant, key, keys,
                        settings.checkpoint_every)
    except LedgerNotIntact as error:
        raise ApiError(409, ApiRule.LEDGER_NOT_INTACT, str(error)) from error
    name = f"weiledger-{principal.tenant}-{since or 'start'}-{until or 'head'}.zip"
    return StreamingResponse(
        stream_export(services.pool, principal.tenant, key, kek, since=since, until=until),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
