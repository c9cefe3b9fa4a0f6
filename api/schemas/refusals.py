"""What GET /v1/refusals answers: a command refused under an idempotency key."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RefusalPublic(BaseModel):
    id: int = Field(description="the order refusals were made in")
    command: str = Field(examples=["sale"])
    rule: str = Field(examples=["insufficient-stock"])
    numbers: dict[str, str | int | bool | None] = Field(description="why, in numbers")
    actor: str = Field(description="who said so", examples=["import:history.jsonl"])
    agent: str | None = Field(description="the agent the command was about, if it names one")
    business_time: str = Field(description="when the command said it happened")
    recorded_at: str = Field(description="when the ledger refused it")
    head_position: int = Field(description="the log's last position when it was refused")
