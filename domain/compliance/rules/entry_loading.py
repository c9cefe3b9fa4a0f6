"""entry-loading (变相入门费): purchases within 7 days of joining above 2,000.00 and no
retail sale in the 30 days after joining.

Watches the newcomer's purchases of its first 7 days and its first retail sale; judged
when the log passes the 30th day after it joined.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.compliance.rules.thresholds import Numbers, Thresholds
from domain.errors import Rule
from domain.money import format_cny

RULE = Rule.ENTRY_LOADING
WATCHES = ("AgentJoined", "StockPurchased", "StockSoldAtRetail")
PURCHASE_WINDOW = timedelta(days=7)  # "a purchase within 7 days of joining"
SALE_WINDOW = timedelta(days=30)  # "no retail sale in the 30 days after joining"


def breach(
    t: Thresholds, purchased_fen: int, first_sale: datetime | None, joined: datetime
) -> Numbers | None:
    """The purchases of those 7 days are summed: DOMAIN.md speaks of "a purchase", but
    two purchases of 1,500.00 load the newcomer just as one of 3,000.00 does."""
    if purchased_fen <= t.entry_loading_fen:
        return None
    if first_sale is not None and first_sale < joined + SALE_WINDOW:
        return None
    return {
        "purchased_first_7_days": format_cny(purchased_fen),
        "limit": format_cny(t.entry_loading_fen),
        "retail_sales_first_30_days": 0,
        "judged_at_end_of": (joined + SALE_WINDOW).isoformat(),
    }
