"""Statements as issued: `projection` writes rm_statements, `queries` reads it."""

from projections.statements.projection import StatementsProjection

__all__ = ["StatementsProjection"]
