"""Alerts and disputes: `projection` writes rm_alerts and rm_disputes, `queries` reads
them."""

from projections.alerts.projection import AlertsProjection, DisputesProjection

__all__ = ["AlertsProjection", "DisputesProjection"]
