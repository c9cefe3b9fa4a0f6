"""Recompute every hash of the stored chain and say where it breaks."""

from __future__ import annotations

from dataclasses import dataclass, field

from config.runtime import Progress
from eventstore.chain import ChainBreak, ChainVerifier
from eventstore.database import Conn
from eventstore.postgres import COLUMNS, row_to_event


@dataclass
class ChainReport:
    events: int = 0
    tenants: int = 0
    breaks: list[ChainBreak] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.breaks


STEP = 1000  # events between two reports of progress


async def verify_chain(conn: Conn, tenant: str | None = None,
                       progress: Progress | None = None) -> ChainReport:
    """Walk the events of every tenant (or one) in position order, from a cursor."""
    report = ChainReport()
    heads = {
        r["tenant"]: (r["position"], r["hash"])
        for r in await conn.fetch(
            "SELECT tenant, position, hash FROM chain_heads WHERE $1::text IS NULL OR tenant = $1",
            tenant,
        )
    }
    verifier: ChainVerifier | None = None
    broken: set[str] = set()
    if progress is not None:
        progress.size(sum(position for position, _hash in heads.values()))

    def close(v: ChainVerifier) -> None:
        head = heads.pop(v.tenant, None)
        if v.tenant not in broken and head is not None and head != (v.position, v.hash):
            report.breaks.append(
                ChainBreak(v.tenant, v.position + 1, f"the chain head says position {head[0]}")
            )

    async with conn.transaction(isolation="repeatable_read", readonly=True):
        cursor = conn.cursor(
            f"SELECT {COLUMNS} FROM events"
            " WHERE $1::text IS NULL OR tenant = $1 ORDER BY tenant, position",
            tenant,
            prefetch=5000,
        )
        async for row in cursor:
            event = row_to_event(row)
            if verifier is None or verifier.tenant != event.tenant:
                if verifier is not None:
                    close(verifier)
                verifier = ChainVerifier(event.tenant)
                report.tenants += 1
            report.events += 1
            if progress is not None and report.events % STEP == 0:
                progress(STEP)
            if event.tenant in broken:
                continue
            try:
                verifier.check(event)
            except ChainBreak as fault:
                report.breaks.append(fault)
                broken.add(event.tenant)
    if verifier is not None:
        close(verifier)
    if progress is not None:
        progress(report.events % STEP)
    for name, (position, _hash) in heads.items():
        if position > 0:
            report.breaks.append(ChainBreak(name, 1, f"no events, but the head says {position}"))
    return report
