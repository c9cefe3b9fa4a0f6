"""tax-flag: an agent's total payout in one period above 50,000.00 CNY, flagged for
declaration.

Settlement decides the flag, once, by the policy in force at the period's end
(domain.settlement.ledger); the alert reads the statement's flag rather than judging
the total again by whatever policy is in force when the statement is read: a policy
issued between the period's end and its close must not make the two disagree.

Watches each statement issued; judged when it arrives.
"""

from __future__ import annotations

from domain.compliance.rules.thresholds import Numbers
from domain.errors import Rule
from domain.money import format_cny

RULE = Rule.TAX_FLAG
WATCHES = ("StatementIssued",)


def flagged(total_fen: int, limit_fen: int) -> bool:
    """What settlement writes on the statement: its total above the threshold."""
    return total_fen > limit_fen


def breach(flag: bool, total_fen: int, limit_fen: int, period: str) -> Numbers | None:
    """The statement's own flag, with the numbers it was decided by."""
    if not flag:
        return None
    return {"period": period, "total": format_cny(total_fen), "limit": format_cny(limit_fen)}
