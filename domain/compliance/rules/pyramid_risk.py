"""pyramid-risk (2013 opinion: 3 levels, 30 people): a subtree of 3 or more levels
(counting its root) and 30 or more members, while overrides are on, or internal stock
sales exceed retail in it (over the last completed period, judged when it ends), or any
entry-loading or push-down alert is open in it: a warning; 120 or more members: critical.

Watches the tree (joins grow every subtree above), the policy (overrides switched on),
each period's stock sales and net retail inside every subtree, and the alerts of
`OPEN_ALERTS` raised and resolved in it. A lasting condition: raised when it begins or
grows more severe.
"""

from __future__ import annotations

from domain.compliance.rules import entry_loading, push_down
from domain.compliance.rules.thresholds import CRITICAL, WARNING, Numbers, Thresholds
from domain.errors import Rule

RULE = Rule.PYRAMID_RISK
WATCHES = (
    "AgentJoined",
    "PolicyIssued",
    "StockShipped",
    "StockSoldAtRetail",
    "StockReturned",
    "PeriodClosed",
    "AlertResolved",
)
LEVELS = 3  # three or more levels (counting the root)...
MEMBERS = 30  # ...and thirty or more members
CRITICAL_MEMBERS = 120
OPEN_ALERTS = (entry_loading.RULE, push_down.RULE)  # an open one in the subtree counts


def internal_selling(shipped_fen: int, retail_fen: int) -> bool:
    """Stock sold inside a subtree above its net retail, as push-down (returns may make
    that negative; no stock sold inside is no internal selling)."""
    return shipped_fen > max(retail_fen, 0)


def breach(
    t: Thresholds, levels: int, members: int, internal_exceeds_retail: bool, open_alerts: int
) -> tuple[str, Numbers] | None:
    if levels < LEVELS or members < MEMBERS:
        return None
    if not (t.overrides_on or internal_exceeds_retail or open_alerts > 0):
        return None
    severity = CRITICAL if members >= CRITICAL_MEMBERS else WARNING
    return severity, {
        "levels": levels,
        "members": members,
        "overrides_on": t.overrides_on,
        "internal_stock_sales_exceed_retail": internal_exceeds_retail,
        "open_entry_or_push_down_alerts": open_alerts,
    }
