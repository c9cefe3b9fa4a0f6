"""An agent's page, the whole of it as it stood at any instant (the dispute handler's
replay): its place in the tree and the path up to HQ, its timeline, stock by SKU against
trailing-30-day retail, sales and returns, purchases, statements, alerts, disputes and
its downline's summary.

How the past is found, each the exact and cheap way for its kind of fact:
- tree, tier, status, downline: the tree read model keeps every version of a node with
  its validity interval, so "then" is one index scan (projections/tree);
- stock, sales, returns, purchases: the agent's own stock stream, its events up to then
  folded here (as /v1/agents/{a}/stock?as_of does): a stream is one agent's, so it is
  short, and no read model has to keep every past balance;
- timeline: the agent's and its stock's events dated up to then, newest first;
- statements, alerts, disputes: the rows raised, issued or opened by then, each step's
  time kept by the read model, so an alert's status is the one it had then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from api.deps import Services
from api.events import fields_of
from console.data.moments import period_at
from domain.events import Codec, streams
from domain.periods import period_of, period_start
from domain.ports import RecordedEvent
from eventstore.reads import latest_of_streams
from projections.alerts.queries import alerts_of, disputes_of
from projections.statements.queries import statements_of
from projections.tree.queries import DownlineSummary, Member, downline_summary, member, path_up

TRAILING = timedelta(days=30)
_TICK = timedelta(microseconds=1)  # Stock.net_retail's end is exclusive
TIMELINE = 50
ROWS = 50
_codec = Codec()


@dataclass(frozen=True, slots=True)
class Happening:
    """One event of the agent's timeline."""

    position: int
    name: str
    business_time: datetime
    recorded_at: datetime
    actor: str | None
    policy_version: int | None
    fields: dict[str, Any]  # personal data sealed (api.events.fields_of)


@dataclass(frozen=True, slots=True)
class SkuStock:
    sku: str
    on_hand: int
    retail_30d: int  # units sold at retail, net of returns, in the 30 days up to then


@dataclass(frozen=True, slots=True)
class Movement:
    """A sale, a return, a purchase, a shipment to the downline or a buy-back."""

    kind: str  # the event's name
    ref: str  # the sale, purchase or buy-back it belongs to
    at: datetime
    counterpart: str | None  # seller (None: HQ) of a purchase, buyer of a shipment
    units: int
    amount_fen: int
    position: int


@dataclass
class Ledgered:
    """The agent's stock stream folded up to then."""

    stock: list[SkuStock] = field(default_factory=list)
    sales: list[Movement] = field(default_factory=list)  # sales and returns, newest first
    purchases: list[Movement] = field(default_factory=list)  # in and out, newest first
    net_retail_fen: int = 0  # in the period, up to then (the read model has the month's)


@dataclass(frozen=True, slots=True)
class AgentPage:
    agent: str
    as_of: datetime | None
    period: str
    member: Member | None  # None: not joined then
    path: tuple[str, ...]  # from the top of the tree down to the agent
    timeline: tuple[Happening, ...]
    ledgered: Ledgered
    statements: tuple[Any, ...]
    alerts: tuple[Any, ...]
    disputes: tuple[Any, ...]
    downline: DownlineSummary | None


def _happening(e: RecordedEvent) -> Happening:
    meta = e.metadata
    version = meta.get("policy_version")
    actor = meta.get("actor")
    return Happening(e.position, e.name, e.business_time, e.recorded_at,
                     None if actor is None else str(actor),
                     version if isinstance(version, int) else None, fields_of(e))


_MOVES = {
    "StockSoldAtRetail": ("sale", None),
    "StockReturned": ("sale", None),
    "StockPurchased": ("purchase", "seller"),
    "StockShipped": ("purchase", "buyer"),
    "BuybackCompleted": ("buyback", None),
}


def fold(events: list[RecordedEvent], upto: datetime) -> Ledgered:
    """Stock by SKU, trailing-30-day retail, net retail in the period so far, and the
    movements of a stock stream's events (those dated `upto` or earlier)."""
    found = Ledgered()
    retail: dict[str, int] = {}
    stock = None
    for e in events:
        d = _codec.decode(e)
        stock = d.mutate(stock)
        if e.name not in _MOVES:
            continue
        ref, other = _MOVES[e.name]
        units = sum(line["qty"] for line in d.lines)
        amount = sum(line["qty"] * line.get("unit_price", line.get("price_paid", 0))
                     for line in d.lines)
        move = Movement(e.name, getattr(d, ref), e.business_time,
                        getattr(d, other) if other else None, units, amount, e.position)
        if ref == "sale":
            found.sales.append(move)
            if e.business_time > upto - TRAILING:
                sign = 1 if e.name == "StockSoldAtRetail" else -1
                for line in d.lines:
                    retail[line["sku"]] = retail.get(line["sku"], 0) + sign * line["qty"]
        else:
            found.purchases.append(move)
    held = stock.units() if stock is not None else {}
    if stock is not None:
        found.net_retail_fen = stock.net_retail(period_start(period_of(upto)), upto + _TICK)
    found.stock = [SkuStock(sku, held.get(sku, 0), retail.get(sku, 0))
                   for sku in sorted(set(held) | set(retail))]
    found.sales.reverse()
    found.purchases.reverse()
    return found


async def agent_page(services: Services, agent: str, *, as_of: datetime | None) -> AgentPage:
    pool, tenant = services.pool, services.tenant
    period = period_at(as_of)
    found = await member(pool, tenant, agent, period=period, at=as_of)
    upto = as_of or datetime.now(UTC)
    recorded = await services.store.read_stream(tenant, streams.stock(agent))
    ledgered = fold([e for e in recorded if e.business_time <= upto], upto)
    ledgered.sales, ledgered.purchases = ledgered.sales[:ROWS], ledgered.purchases[:ROWS]
    timeline = await latest_of_streams(pool, tenant, [streams.agent(agent), streams.stock(agent)],
                                       upto=as_of, before=None, limit=TIMELINE)
    return AgentPage(
        agent=agent, as_of=as_of, period=period, member=found,
        path=tuple(path_up(found.path)) if found else (),
        timeline=tuple(_happening(e) for e in timeline),
        ledgered=ledgered,
        statements=tuple(await statements_of(pool, tenant, agent, at=as_of, limit=ROWS)),
        alerts=tuple(await alerts_of(pool, tenant, agent, at=as_of, limit=ROWS)),
        disputes=tuple(await disputes_of(pool, tenant, agent, at=as_of, limit=ROWS)),
        downline=await downline_summary(pool, tenant, agent, period=period, at=as_of)
        if found else None,
    )

