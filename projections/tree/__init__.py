"""The agent tree through time: `projection` writes rm_tree, `queries` reads it."""

from projections.tree.projection import TreeProjection

__all__ = ["TreeProjection"]
