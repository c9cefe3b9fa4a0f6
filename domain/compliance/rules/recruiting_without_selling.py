"""recruiting-without-selling (拉人头 risk): 5 or more direct recruits in 30 days and no
own retail sale in those 30 days.

Watches each direct recruit (DownlineJoined on the sponsor's stream) against the
sponsor's recruits and own sales of the 30 days before; a lasting condition, ended by
the agent's next sale.
"""

from __future__ import annotations

from datetime import timedelta

from domain.compliance.rules.thresholds import Numbers
from domain.errors import Rule

RULE = Rule.RECRUITING_WITHOUT_SELLING
WATCHES = ("DownlineJoined", "StockSoldAtRetail")
WINDOW = timedelta(days=30)  # "5 or more direct recruits in 30 days"
RECRUITS = 5


def breach(recruits_30d: int, own_sales_30d: int) -> Numbers | None:
    if recruits_30d < RECRUITS or own_sales_30d > 0:
        return None
    return {"direct_recruits_30d": recruits_30d, "own_retail_sales_30d": 0, "limit": RECRUITS}
