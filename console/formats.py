"""How the console shows the ledger's values: times and dates in China time (+08:00),
money (integer fen) as ¥1,234.56, and codes (tiers, rules, roles) in the chosen
language. Each is a template filter (console/app.py registers FILTERS and, bound to the
page's language, LANGUAGE_FILTERS): `{{ sale.at|china_time }}`, `{{ fen|money }}`,
`{{ agent.tier|tier }}`, `{{ alert.rule|rule }}`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from babel.support import Translations

from domain.money import FEN_PER_YUAN
from domain.periods import CST


def china_time(value: datetime | None, seconds: bool = False) -> str:
    """An instant as China time: '2026-02-01 00:03' (stored in UTC)."""
    if value is None:
        return ""
    shown = value.astimezone(CST)
    return shown.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def china_date(value: datetime | date | None) -> str:
    """The calendar day in China of an instant (or a date as it is)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(CST).date()
    return value.isoformat()


def money(fen: int | None) -> str:
    """4950 -> '¥49.50'; -123456 -> '-¥1,234.56'."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}¥{whole:,}.{cents:02d}"


def translated(context: str) -> Callable[[Translations, str], str]:
    """A code's name in the language of `translations`, for codes of one `context`
    ('tier', 'rule'); a code the catalogue lacks is shown as it is."""

    def name(translations: Translations, code: str) -> str:
        return str(translations.pgettext(context, code))

    return name


tier_name = translated("tier")
rule_name = translated("rule")
role_name = translated("role")

# Filters that need the chosen language take its Translations first (pages.py binds it).
FILTERS: dict[str, Callable[..., Any]] = {
    "china_time": china_time,
    "china_date": china_date,
    "money": money,
}
LANGUAGE_FILTERS: dict[str, Callable[..., str]] = {
    "tier": tier_name, "rule": rule_name, "role": role_name,
}
