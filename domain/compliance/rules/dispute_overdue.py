"""dispute-overdue: a dispute unanswered for 48 hours (an answer at the 48th hour is
too late).

Watches each dispute opened and its first answer or resolution; judged when the log
passes 48 hours after it opened.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.compliance.rules.thresholds import Numbers
from domain.errors import Rule

RULE = Rule.DISPUTE_OVERDUE
WATCHES = ("DisputeOpened", "DisputeAnswered", "DisputeResolved")
ANSWER_WITHIN = timedelta(hours=48)


def breach(opened: datetime, answered: datetime | None, now: datetime) -> Numbers | None:
    due = opened + ANSWER_WITHIN
    if now < due or (answered is not None and answered < due):
        return None
    return {"hours": int(ANSWER_WITHIN.total_seconds() // 3600), "due": due.isoformat()}
