"""Units on hand: `projection` writes rm_stock, `queries` reads it."""

from projections.stock.projection import StockProjection

__all__ = ["StockProjection"]
