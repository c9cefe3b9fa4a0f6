"""The alert rules of DOMAIN.md, each a pure judgment over plain numbers.

Every function answers None (the rule holds) or the numbers that show the breach, so a
compliance officer reads why without re-deriving anything. Thresholds HQ may change come
from the policy in force (`Thresholds.of`); the others are DOMAIN.md's fixed numbers,
named here. Money is integer fen; shares are compared in integers or Decimal, never
floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from domain.money import format_cny
from domain.policy.model import Policy

Number = str | int | bool | None
Numbers = dict[str, Number]

# Rule codes (DOMAIN.md): stable, part of the API.
HOARDING_70 = "hoarding-70"
DAYS_OF_COVER = "days-of-cover"
PUSH_DOWN = "push-down"
ENTRY_LOADING = "entry-loading"
RECRUITING = "recruiting-without-selling"
PYRAMID_RISK = "pyramid-risk"
TAX_FLAG = "tax-flag"
DISPUTE_OVERDUE = "dispute-overdue"
ALERT_RULES = (
    HOARDING_70,
    DAYS_OF_COVER,
    PUSH_DOWN,
    ENTRY_LOADING,
    RECRUITING,
    PYRAMID_RISK,
    TAX_FLAG,
    DISPUTE_OVERDUE,
)

WARNING, CRITICAL = "warning", "critical"
SEVERITIES = (WARNING, CRITICAL)  # lowest first

# DOMAIN.md's fixed numbers: no policy field carries them (yet).
HOARDING_WINDOW = timedelta(days=30)  # "units bought in the previous 30 days"
COVER_MEMBERSHIP = timedelta(days=30)  # days of cover is judged after 30 days of membership
COVER_TRAILING = timedelta(days=30)  # "trailing-30-day average retail sales"
ENTRY_PURCHASE_WINDOW = timedelta(days=7)  # "a purchase within 7 days of joining"
ENTRY_SALE_WINDOW = timedelta(days=30)  # "no retail sale in the 30 days after joining"
RECRUIT_WINDOW = timedelta(days=30)  # "5 or more direct recruits in 30 days"
RECRUITS = 5
PYRAMID_LEVELS = 3  # 2013 opinion: three or more levels (counting the root)...
PYRAMID_MEMBERS = 30  # ...and thirty or more members
PYRAMID_CRITICAL = 120
DISPUTE_ANSWER = timedelta(hours=48)
# facts.py keeps one trailing window for all three
assert HOARDING_WINDOW == COVER_TRAILING == RECRUIT_WINDOW == timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The numbers of one policy version that the rules read."""

    policy_version: int
    hoarding_share: Decimal  # 0.70
    cover_days: int  # 90
    entry_loading_fen: int  # 2,000.00
    tax_flag_fen: int  # 50,000.00
    overrides_on: bool  # any override level switched on

    @classmethod
    def of(cls, policy: Policy) -> Thresholds:
        return cls(
            policy_version=policy.version,
            hoarding_share=policy.hoarding_share,
            cover_days=policy.cover_days,
            entry_loading_fen=policy.entry_loading_fen,
            tax_flag_fen=policy.tax_flag_fen,
            overrides_on=policy.override_levels > 0,
        )


def hoarding_70(t: Thresholds, bought_units: int, sold_units: int) -> Numbers | None:
    """A purchase made while less than 70% of the units bought in the previous 30 days
    were sold at retail (net of returns). Nothing bought before: nothing to judge."""
    if bought_units <= 0 or Decimal(sold_units) >= t.hoarding_share * bought_units:
        return None
    return {
        "bought_units_30d": bought_units,
        "sold_units_30d": sold_units,
        "sold_share": str((Decimal(sold_units) / bought_units).quantize(Decimal("0.0001"))),
        "required_share": str(t.hoarding_share),
    }


def cover_too_long(t: Thresholds, on_hand: int, retail_units_30d: int) -> bool:
    """Whether days_of_cover breaks, without its numbers: a breach that lasts is looked
    at again on every sale of the agent, and only its beginning is raised."""
    if on_hand <= 0:
        return False
    days = COVER_TRAILING.days
    return retail_units_30d <= 0 or on_hand * days > t.cover_days * retail_units_30d


def days_of_cover(t: Thresholds, on_hand: int, retail_units_30d: int) -> Numbers | None:
    """On-hand units above `cover_days` of the trailing-30-day average retail sales.

    on_hand / (sold / 30) > cover_days, kept in integers: on_hand * 30 > cover_days * sold.
    No sales and units on hand: infinite cover, a breach; nothing on hand: none.
    """
    if not cover_too_long(t, on_hand, retail_units_30d):
        return None
    days = COVER_TRAILING.days
    cover = (
        "infinite"
        if retail_units_30d <= 0
        else str((Decimal(on_hand * days) / retail_units_30d).quantize(Decimal("0.1")))
    )
    return {
        "on_hand_units": on_hand,
        "retail_units_30d": retail_units_30d,
        "days_of_cover": cover,
        "max_days": t.cover_days,
    }


def push_down(shipped_fen: int, retail_fen: int, period: str) -> Numbers | None:
    """Stock sold to the downline above own net retail sales in a period, by amount.

    Nothing sold down, nothing pushed down: an agent whose returns outweigh its sales
    (net retail below zero) is no push-down without a downline sale."""
    if shipped_fen <= 0 or shipped_fen <= retail_fen:
        return None
    return {
        "period": period,
        "downline_stock_sales": format_cny(shipped_fen),
        "own_net_retail": format_cny(retail_fen),
    }


def entry_loading(
    t: Thresholds, purchased_fen: int, first_sale: datetime | None, joined: datetime
) -> Numbers | None:
    """Purchases within 7 days of joining above 2,000.00 and no retail sale in the 30
    days after joining.

    The purchases of those 7 days are summed: DOMAIN.md speaks of "a purchase", but two
    purchases of 1,500.00 load the newcomer just as one of 3,000.00 does.
    """
    if purchased_fen <= t.entry_loading_fen:
        return None
    if first_sale is not None and first_sale < joined + ENTRY_SALE_WINDOW:
        return None
    return {
        "purchased_first_7_days": format_cny(purchased_fen),
        "limit": format_cny(t.entry_loading_fen),
        "retail_sales_first_30_days": 0,
        "judged_at_end_of": (joined + ENTRY_SALE_WINDOW).isoformat(),
    }


def recruiting_without_selling(recruits_30d: int, own_sales_30d: int) -> Numbers | None:
    """5 or more direct recruits in 30 days and no own retail sale in those 30 days."""
    if recruits_30d < RECRUITS or own_sales_30d > 0:
        return None
    return {"direct_recruits_30d": recruits_30d, "own_retail_sales_30d": 0, "limit": RECRUITS}


def pyramid_risk(
    t: Thresholds, levels: int, members: int, internal_exceeds_retail: bool, open_alerts: int
) -> tuple[str, Numbers] | None:
    """A subtree of 3+ levels (counting its root) and 30+ members, while overrides are
    on, or internal stock sales exceed retail in it, or an entry-loading or push-down
    alert is open in it: a warning; 120+ members: critical."""
    if levels < PYRAMID_LEVELS or members < PYRAMID_MEMBERS:
        return None
    if not (t.overrides_on or internal_exceeds_retail or open_alerts > 0):
        return None
    severity = CRITICAL if members >= PYRAMID_CRITICAL else WARNING
    return severity, {
        "levels": levels,
        "members": members,
        "overrides_on": t.overrides_on,
        "internal_stock_sales_exceed_retail": internal_exceeds_retail,
        "open_entry_or_push_down_alerts": open_alerts,
    }


def tax_flag(t: Thresholds, total_fen: int, period: str) -> Numbers | None:
    """An agent's total payout in one period above 50,000.00: declare it."""
    if total_fen <= t.tax_flag_fen:
        return None
    return {"period": period, "total": format_cny(total_fen), "limit": format_cny(t.tax_flag_fen)}


def dispute_overdue(opened: datetime, answered: datetime | None, now: datetime) -> Numbers | None:
    """A dispute unanswered for 48 hours (an answer at the 48th hour is too late)."""
    due = opened + DISPUTE_ANSWER
    if now < due or (answered is not None and answered < due):
        return None
    return {"hours": int(DISPUTE_ANSWER.total_seconds() // 3600), "due": due.isoformat()}
