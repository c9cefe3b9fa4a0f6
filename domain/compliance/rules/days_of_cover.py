"""days-of-cover: once an agent has been a member for 30 days, on-hand units above
`cover_days` (90) of its trailing-30-day average retail sales.

Watches every change of the agent's units on hand (purchases, shipments down, sales,
returns, buy-backs), the 30th day after it joined, and each new CST day (old sales leave
the trailing window with no event of the agent's own). A lasting condition: raised when
it begins, again only after it has ended and begun anew.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from domain.compliance.rules.thresholds import Numbers, Thresholds
from domain.errors import Rule

RULE = Rule.DAYS_OF_COVER
WATCHES = (
    "AgentJoined",
    "StockPurchased",
    "StockShipped",
    "StockSoldAtRetail",
    "StockReturned",
    "BuybackCompleted",
)
MEMBERSHIP = timedelta(days=30)  # judged after 30 days of membership
TRAILING = timedelta(days=30)  # "trailing-30-day average retail sales"


def lasts(t: Thresholds, on_hand: int, retail_units_30d: int) -> bool:
    """Whether it breaks, without its numbers: a breach that lasts is looked at again
    on every sale of the agent, and only its beginning is raised."""
    if on_hand <= 0:
        return False
    days = TRAILING.days
    return retail_units_30d <= 0 or on_hand * days > t.cover_days * retail_units_30d


def breach(t: Thresholds, on_hand: int, retail_units_30d: int) -> Numbers | None:
    """on_hand / (sold / 30) > cover_days, kept in integers: on_hand * 30 > cover_days * sold.
    No sales and units on hand: infinite cover, a breach; nothing on hand: none."""
    if not lasts(t, on_hand, retail_units_30d):
        return None
    days = TRAILING.days
    cover = (
        "infinite"
        if retail_units_30d <= 0
        else str((Decimal(on_hand * days) / retail_units_30d).quantize(Decimal("0.1")))
    )
    return {
        "on_hand_units": on_hand,
        "retail_units_30d": retail_units_30d,
        "days_of_cover": cover,
        "max_days": t.cover_days,
    }
