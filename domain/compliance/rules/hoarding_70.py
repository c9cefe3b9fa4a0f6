"""hoarding-70 (the 70% rule): a stock purchase made while less than 70% of the units
bought in the previous 30 days were sold at retail, net of returns.

Watches each purchase against the agent's purchases and net retail units of the 30
days before it; judged when the purchase arrives, one alert per purchase.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from domain.compliance.rules.thresholds import Numbers, Thresholds
from domain.errors import Rule

RULE = Rule.HOARDING_70
WATCHES = ("StockPurchased", "StockSoldAtRetail", "StockReturned")
WINDOW = timedelta(days=30)  # "units bought in the previous 30 days"


def breach(t: Thresholds, bought_units: int, sold_units: int) -> Numbers | None:
    """Nothing bought before: nothing to judge."""
    if bought_units <= 0 or Decimal(sold_units) >= t.hoarding_share * bought_units:
        return None
    return {
        "bought_units_30d": bought_units,
        "sold_units_30d": sold_units,
        "sold_share": str((Decimal(sold_units) / bought_units).quantize(Decimal("0.0001"))),
        "required_share": str(t.hoarding_share),
    }
