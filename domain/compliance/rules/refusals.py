"""The rules of the compliance commands (disputes, alerts handled by people), each named
after the code it answers with; each returns a Refused or None."""

from __future__ import annotations

from domain.errors import Refused, Rule


def unknown_dispute(found: object | None, dispute: str) -> Refused | None:
    return Refused(Rule.UNKNOWN_DISPUTE, dispute=dispute) if found is None else None


def unknown_alert(found: object | None, alert: str) -> Refused | None:
    return Refused(Rule.UNKNOWN_ALERT, alert=alert) if found is None else None


def duplicate_dispute(existing: object | None, dispute: str) -> Refused | None:
    return Refused(Rule.DUPLICATE_DISPUTE, dispute=dispute) if existing is not None else None


def already_resolved(resolved: bool, **subject: str) -> Refused | None:
    """A dispute or an alert is resolved once (`subject`: dispute= or alert=)."""
    return Refused(Rule.ALREADY_RESOLVED, **subject) if resolved else None
