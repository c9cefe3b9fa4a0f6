"""Retail sales and net retail: `projection` writes rm_sales, `queries` reads it."""

from projections.sales.projection import SalesProjection

__all__ = ["SalesProjection"]
