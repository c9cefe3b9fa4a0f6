"""Periods, statements with every line, a statement explained, KPIs."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas.common import At, CommandBody


class CloseCreate(CommandBody):
    at: At = None


class StatementSummary(BaseModel):
    agent: str
    period: str
    total: str = Field(description="CNY")
    tax_flag: bool
    policy_version: int
    lines: int
    issued_at: str


class LinePublic(BaseModel):
    n: int
    kind: str = Field(description="bracket, override, clawback or adjustment")
    sale: str = Field(description="the sale paid (for an adjustment: the dispute)")
    sale_event: str = Field(
        description="the cited event, stream@version (a sale; for an adjustment, the"
        " dispute's resolution)"
    )
    period: str = Field(description="the period the line belongs to (a frozen sale keeps it)")
    base: str = Field(description="CNY")
    rate: str = Field(description="decimal share, e.g. 0.03")
    amount: str = Field(description="CNY")
    bracket: int | None
    return_event: str | None
    capped: str = Field(description="CNY taken off by the 30% cap")
    policy_version: int


class StatementPublic(StatementSummary):
    items: list[LinePublic]


class CitedEvent(BaseModel):
    cite: str
    position: int | None
    name: str | None
    business_time: str | None


class ExplainedLine(BaseModel):
    line: LinePublic
    because: str = Field(description="the line in words")
    sale_event: CitedEvent
    return_event: CitedEvent | None


class StatementExplained(BaseModel):
    agent: str
    period: str
    total: str
    policy_version: int
    lines: list[ExplainedLine]


class KpisPublic(BaseModel):
    period: str
    net_retail: str = Field(description="CNY")
    customers: int
    repurchase_rate_30d: float | None = Field(description="a ratio, not money")
    active_agents: int
    retail_per_active_agent: str | None
    new_agents: int
    retention_3m: float | None
    payout_share: float | None
