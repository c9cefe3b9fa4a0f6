"""Closing a period (结算): the statements it issues, recorded as one append."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.errors import judge
from domain.events import create
from domain.handling import Accepted, AggregateCache, Context, Session, execute
from domain.periods import parse_period, period_stream
from domain.policy.service import load_policy
from domain.ports import EventStore
from domain.settlement.facts import Statement
from domain.settlement.history import Replay, replay
from domain.settlement.ledger import SettlementError
from domain.settlement.model import (
    IssuedStatement,
    SettlementPeriod,
    line_document,
    statement_stream,
)
from domain.settlement.rules import period_closed, period_open

_CARRIED = "settlement"  # its name in the cache


@dataclass(frozen=True, slots=True)
class ClosePeriod:
    at: datetime
    period: str


class SettlementService:
    def __init__(self, store: EventStore, cache: AggregateCache | None = None) -> None:
        """`cache`: the settlement replayed by one close is carried in it to the next,
        which reads only what was recorded since."""
        self.store = store
        self.cache = cache

    async def _history(self, tenant: str) -> Replay:
        """The settlement as the log stands now, closes and all."""
        carried = self.cache.carried(tenant, _CARRIED) if self.cache is not None else None
        assert carried is None or isinstance(carried, Replay)
        history = await replay(self.store, tenant, since=carried, audit=False)
        if self.cache is not None:
            self.cache.carry(tenant, _CARRIED, history)
        return history

    async def close_period(self, ctx: Context, cmd: ClosePeriod) -> Accepted:
        parse_period(cmd.period)

        async def decide(s: Session) -> None:
            closed = await s.load(period_stream(cmd.period), SettlementPeriod)
            judge(period_closed(cmd.period, closed is not None))
            judge(period_open(cmd.period, cmd.at))
            history = await self._history(ctx.tenant)
            try:
                # Previewed, not closed: the ledger is carried to the next close and
                # must stay that of the log, which this close may yet not join (another
                # rule refuses it, its append fails); it closes the period when the
                # replay reads the PeriodClosed recorded. Preview and close compute alike.
                statements = history.ledger.preview(cmd.period)
            except SettlementError:  # a later period is closed already
                last = history.ledger.last_closed
                judge(period_closed(cmd.period, True, last_closed=last))
                raise
            self._record(s, cmd, statements)

        return await execute(self.store, ctx, cmd.at, "close_period", decide, load_policy,
                             self.cache)

    @staticmethod
    def _record(s: Session, cmd: ClosePeriod, statements: tuple[Statement, ...]) -> None:
        stream = period_stream(cmd.period)
        s.save(
            stream,
            create(
                SettlementPeriod, SettlementPeriod.Closed, stream, cmd.at,
                period=cmd.period,
                statements=len(statements),
                total_fen=sum(st.total_fen for st in statements),
                tax_flagged=[st.agent for st in statements if st.tax_flag],
            ),
        )
        for st in statements:
            own = statement_stream(st.agent, cmd.period)
            s.save(
                own,
                create(
                    IssuedStatement, IssuedStatement.Issued, own, cmd.at,
                    agent=st.agent,
                    period=cmd.period,
                    lines=[line_document(line) for line in st.lines],
                    total_fen=st.total_fen,
                    tax_flag=st.tax_flag,
                    policy_version=st.policy_version,
                ),
                keep=False,
            )

    async def preview(self, tenant: str, period: str, at: datetime) -> tuple[Statement, ...]:
        """What closing `period` would issue, from what the log holds now; records nothing."""
        history = await self._history(tenant)
        return history.ledger.preview(period, at)
