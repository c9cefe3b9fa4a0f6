"""push-down (压货): an agent whose stock sales to its downline exceed its own net
retail sales in a period, by amount.

Watches the period's shipments down and retail sales (net of returns) of each agent;
judged at the period's end (or its close, whichever the log shows first).
"""

from __future__ import annotations

from domain.compliance.rules.thresholds import Numbers
from domain.errors import Rule
from domain.money import format_cny

RULE = Rule.PUSH_DOWN
WATCHES = ("StockShipped", "StockSoldAtRetail", "StockReturned", "PeriodClosed")


def breach(shipped_fen: int, retail_fen: int, period: str) -> Numbers | None:
    """Nothing sold down, nothing pushed down: an agent whose returns outweigh its sales
    (net retail below zero) is no push-down without a downline sale."""
    if shipped_fen <= 0 or shipped_fen <= retail_fen:
        return None
    return {
        "period": period,
        "downline_stock_sales": format_cny(shipped_fen),
        "own_net_retail": format_cny(retail_fen),
    }
