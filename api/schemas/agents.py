"""Agents: the join and status commands (the journal's fields), and what is shown."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from api.schemas.common import At, CommandBody, Flag, Id, Money, OptionalText, Text, Tier


class JoinCreate(CommandBody):
    at: At = None
    agent: Id
    sponsor: Id | None = Field(description="null: joins directly under HQ")
    tier: Tier
    name: Text
    id_number: str = Field(pattern=r"^[0-9]{17}[0-9Xx]$", examples=["110101199003071234"])
    phone: str = Field(pattern=r"^[0-9+ -]{5,20}$", examples=["13800000001"])
    fee: Money | None = Field(None, description="any fee above zero is refused (join-fee)")
    required_purchase: Flag | None = Field(None, description="true is refused (join-fee)")

    def fields(self) -> dict[str, Any]:
        fields = self.model_dump(mode="json", exclude_none=True)
        fields["sponsor"] = self.sponsor  # null means HQ: keep it
        return fields


class PromoteCreate(CommandBody):
    at: At = None
    tier: Tier


class DemoteCreate(CommandBody):
    at: At = None
    tier: Tier
    reason: OptionalText | None = None


class StatusCreate(CommandBody):
    """warn, suspend, reinstate, terminate."""

    at: At = None
    reason: OptionalText | None = None


class ForgetCreate(CommandBody):
    at: At = None


class PersonalPublic(BaseModel):
    """Masked: enough to recognise, never to misuse. Erased agents show `erased`."""

    name: str
    id_number: str
    phone: str


class AgentPublic(BaseModel):
    agent: str
    sponsor: str | None
    tier: str
    depth: int
    status: str
    forgotten: bool
    direct_recruits: int
    personal: PersonalPublic
    version: int = Field(description="the agent stream's version (also the ETag)")


class AgentSummary(BaseModel):
    agent: str
    sponsor: str | None
    tier: str
    depth: int
    status: str


class StockPublic(BaseModel):
    agent: str
    as_of: str | None = Field(description="business time asked for; null: now")
    units: dict[str, int] = Field(description="SKU -> units on hand")


class RecruitPublic(BaseModel):
    agent: str
    tier: str
    status: str
    downline: int
    net_retail: str = Field(description="CNY")


class DownlinePublic(BaseModel):
    """A downline as counts and money: no personal data."""

    agent: str
    period: str | None
    direct: int
    total: int
    active: int
    by_level: dict[str, int] = Field(description="level (1 = direct recruits) -> agents")
    net_retail: str = Field(description="the whole downline's net retail, CNY")
    recruits: list[RecruitPublic]
