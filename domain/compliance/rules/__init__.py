"""The alert rules of DOMAIN.md, one module each, named after its code: what it
watches (the events that feed it, its windows and fixed numbers) and when it fires (a
pure judgment over plain numbers, `breach`). refusals.py holds the rules of the
compliance commands. Monitor (monitor.py) and Judging (judging.py) only feed them.

Every `breach` answers None (the rule holds) or the numbers that show the breach, so a
compliance officer reads why without re-deriving anything. Thresholds HQ may change come
from the policy in force (thresholds.Thresholds); the others are DOMAIN.md's fixed
numbers, named in each rule's module. Money is integer fen; shares are compared in
integers or Decimal, never floats.
"""

from __future__ import annotations

from domain.compliance.rules.dispute_overdue import ANSWER_WITHIN as DISPUTE_ANSWER
from domain.compliance.rules.tax_flag import RULE as TAX_FLAG

# Kept for the callers outside domain/ (projections.watchers, projections.alerts) until
# they read the rule's own module.
__all__ = ["DISPUTE_ANSWER", "TAX_FLAG"]
