"""Every projection the service runs, in the order the runner catches them up.

A plain list on purpose: a new read model is one more line here.
"""

from __future__ import annotations

from projections.alerts import AlertsProjection, DisputesProjection
from projections.runner import Projection
from projections.sales import SalesProjection
from projections.statements import StatementsProjection
from projections.stock import StockProjection
from projections.tree import TreeProjection


def all_projections() -> list[Projection]:
    return [
        TreeProjection(),
        StockProjection(),
        SalesProjection(),
        StatementsProjection(),
        AlertsProjection(),
        DisputesProjection(),
    ]
