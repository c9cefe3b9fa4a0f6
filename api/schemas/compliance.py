"""Alerts and disputes (the journal's fields), and how they are shown."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.common import At, CommandBody, Id, OptionalText, SignedMoney, Text

SUBJECT = (r"^(sale:[A-Za-z0-9][A-Za-z0-9._:-]{0,63}"
           r"|(statement|period):20[0-9]{2}-(0[1-9]|1[0-2]))$")
Subject = Field(pattern=SUBJECT,
                examples=["statement:2026-01"],
                description="sale:<id>, statement:<YYYY-MM> or period:<YYYY-MM>")


class AcknowledgeCreate(CommandBody):
    at: At = None
    note: OptionalText | None = None


class ResolveAlertCreate(CommandBody):
    at: At = None
    reason: Text


class DisputeCreate(CommandBody):
    at: At = None
    dispute: Id
    agent: Id
    subject: str = Subject
    text: Text


class MyDisputeCreate(CommandBody):
    """An agent's dispute, opened now (the server's time); its id is the server's
    (DisputeAccepted.dispute), as a sale's."""

    subject: str = Subject
    text: Text


class AnswerCreate(CommandBody):
    at: At = None
    text: Text


class ResolveDisputeCreate(CommandBody):
    at: At = None
    outcome: Literal["upheld", "partly-upheld", "rejected", "withdrawn"]
    adjustment: SignedMoney | None = Field(
        None, description="CNY owed to the agent (+) or by it (-), on its next statement")
    text: OptionalText | None = None


class AlertPublic(BaseModel):
    alert: str
    rule: str
    agent: str
    severity: str
    status: str
    numbers: dict[str, Any]
    cites: list[dict[str, Any]]
    policy_version: int
    raised_at: str
    position: int
    acknowledged_at: str | None
    acknowledged_by: str | None
    resolved_at: str | None
    resolved_by: str | None
    resolved_reason: str | None


class DisputePublic(BaseModel):
    dispute: str
    agent: str
    subject: str
    text: str
    status: str
    opened_at: str
    answer_due: str
    answered_at: str | None
    answer: str | None
    resolved_at: str | None
    outcome: str | None
    adjustment: str | None = Field(description="CNY")
    resolution: str | None
    position: int
