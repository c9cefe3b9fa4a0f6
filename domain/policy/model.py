"""A policy version: every number HQ may set, and the default (version 1) of DOMAIN.md.

Tiers are ordered by their wholesale share of the suggested retail price: the lower the
share, the higher the tier (partner 40% is above vip 75%).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from domain.money import format_cny, parse_cny, parse_share

D = Decimal


@dataclass(frozen=True, slots=True)
class Bracket:
    """Personal retail bonus: `rate` on own net retail above `from_fen` (marginal)."""

    from_fen: int
    rate: Decimal


@dataclass(frozen=True, slots=True)
class Policy:
    version: int
    effective_from: datetime | None  # None: since the beginning (the default)
    tiers: tuple[tuple[str, Decimal], ...]  # (tier, wholesale share), highest tier first
    max_depth: int
    join_fee_fen: int
    required_purchase: bool
    pay_on_recruits: bool
    commission_on_purchases: bool
    override_levels: int
    override_rate: Decimal
    commission_cap: Decimal
    brackets: tuple[Bracket, ...]
    price_floor: Decimal
    price_ceiling: Decimal  # retail unit price <= this x suggested retail (控价)
    return_days: int
    # a command may be dated at most this many hours before the ledger's clock
    late_entry_hours: int
    buyback_share: Decimal
    buyback_days: int
    promotion_periods: int
    # tier -> (own net retail, direct downline's net retail) needed over those periods
    promotion: dict[str, tuple[int, int]]
    # watched by projections (issue 4), carried here so every version states them
    hoarding_share: Decimal
    cover_days: int
    entry_loading_fen: int
    tax_flag_fen: int

    def share(self, tier: str) -> Decimal | None:
        return dict(self.tiers).get(tier)

    def rank(self, tier: str) -> int:
        """0 for the highest tier; larger is lower."""
        return [name for name, _ in self.tiers].index(tier)

    def is_above(self, upper: str, lower: str) -> bool:
        return self.rank(upper) < self.rank(lower)


# DOMAIN.md's table, number for number.
DEFAULT_POLICY = Policy(
    version=1,
    effective_from=None,
    tiers=(
        ("partner", D("0.40")),
        ("general", D("0.50")),
        ("first", D("0.60")),
        ("vip", D("0.75")),
    ),
    max_depth=3,
    join_fee_fen=0,
    required_purchase=False,
    pay_on_recruits=False,
    commission_on_purchases=False,
    override_levels=0,  # off; a brand may switch on one level
    override_rate=D("0"),
    commission_cap=D("0.30"),
    # marginal, like tax brackets: 0% to 5,000.00, 3% to 20,000.00, 5% above
    brackets=(Bracket(0, D("0")), Bracket(500_000, D("0.03")), Bracket(2_000_000, D("0.05"))),
    price_floor=D("0.90"),
    price_ceiling=D("2.00"),
    return_days=7,
    late_entry_hours=72,
    buyback_share=D("0.90"),
    buyback_days=365,
    promotion_periods=3,
    promotion={},  # no thresholds: HQ decides, on recorded retail evidence
    hoarding_share=D("0.70"),
    cover_days=90,
    entry_loading_fen=200_000,
    tax_flag_fen=5_000_000,
)


_FIELDS = {
    "tiers",
    "max_depth",
    "join_fee",
    "required_purchase",
    "pay_on_recruits",
    "commission_on_purchases",
    "override_levels",
    "override_rate",
    "commission_cap",
    "brackets",
    "price_floor",
    "price_ceiling",
    "return_days",
    "late_entry_hours",
    "buyback_share",
    "buyback_days",
    "promotion_periods",
    "promotion",
    "hoarding_share",
    "cover_days",
    "entry_loading",
    "tax_flag",
}


# Counts of days, hours, levels and periods: bounded so that no rule's arithmetic with
# them (timedelta(days=...), a window of periods) can overflow on any command.
MAX_COUNT = 100_000


def _int(doc: dict[str, Any], key: str, default: int) -> int:
    value = doc.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"policy {key} must be an integer")
    if not 0 <= value <= MAX_COUNT:
        raise ValueError(f"policy {key} must be from 0 to {MAX_COUNT}")
    return value


def _bool(doc: dict[str, Any], key: str, default: bool) -> bool:
    value = doc.get(key, default)
    if not isinstance(value, bool):
        raise ValueError(f"policy {key} must be true or false")
    return value


def _share(doc: dict[str, Any], key: str, default: Decimal) -> Decimal:
    return parse_share(doc[key]) if key in doc else default


def _ratio(doc: dict[str, Any], key: str, default: Decimal) -> Decimal:
    """A multiple of a price, from 1 (the price itself) to 100 times it."""
    if key not in doc:
        return default
    text = doc[key]
    value = Decimal(text) if isinstance(text, str) and text.replace(".", "", 1).isdigit() else None
    if value is None or not D(1) <= value <= D(100):
        raise ValueError(f"policy {key} must be a decimal string from 1 to 100")
    return value


def from_document(
    doc: dict[str, Any], version: int, effective_from: datetime, base: Policy
) -> Policy:
    """A policy document (JSON, amounts as decimal strings); absent keys keep `base`'s."""
    unknown = set(doc) - _FIELDS
    if unknown:
        raise ValueError(f"unknown policy field(s): {', '.join(sorted(unknown))}")
    tiers = base.tiers
    if "tiers" in doc:
        if not isinstance(doc["tiers"], dict) or not doc["tiers"]:
            raise ValueError("policy tiers must be an object of tier -> share")
        parsed = [(str(k), parse_share(v)) for k, v in doc["tiers"].items()]
        tiers = tuple(sorted(parsed, key=lambda t: t[1]))
        if len({s for _, s in tiers}) != len(tiers):
            raise ValueError("two tiers share one wholesale share; tiers must be ordered")
    brackets = base.brackets
    if "brackets" in doc:
        rows = doc["brackets"]
        if not isinstance(rows, list) or not rows:
            raise ValueError("policy brackets must be a list of {from, rate}")
        brackets = tuple(Bracket(parse_cny(r["from"]), parse_share(r["rate"])) for r in rows)
    promotion = base.promotion
    if "promotion" in doc:
        if not isinstance(doc["promotion"], dict):
            raise ValueError("policy promotion must be an object of tier -> {own, downline}")
        promotion = {
            str(tier): (parse_cny(need["own"]), parse_cny(need.get("downline", "0")))
            for tier, need in doc["promotion"].items()
        }
    return replace(
        base,
        version=version,
        effective_from=effective_from.astimezone(UTC),
        tiers=tiers,
        max_depth=_int(doc, "max_depth", base.max_depth),
        join_fee_fen=parse_cny(doc["join_fee"]) if "join_fee" in doc else base.join_fee_fen,
        required_purchase=_bool(doc, "required_purchase", base.required_purchase),
        pay_on_recruits=_bool(doc, "pay_on_recruits", base.pay_on_recruits),
        commission_on_purchases=_bool(doc, "commission_on_purchases", base.commission_on_purchases),
        override_levels=_int(doc, "override_levels", base.override_levels),
        override_rate=_share(doc, "override_rate", base.override_rate),
        commission_cap=_share(doc, "commission_cap", base.commission_cap),
        brackets=brackets,
        price_floor=_share(doc, "price_floor", base.price_floor),
        price_ceiling=_ratio(doc, "price_ceiling", base.price_ceiling),
        return_days=_int(doc, "return_days", base.return_days),
        late_entry_hours=_int(doc, "late_entry_hours", base.late_entry_hours),
        buyback_share=_share(doc, "buyback_share", base.buyback_share),
        buyback_days=_int(doc, "buyback_days", base.buyback_days),
        promotion_periods=_int(doc, "promotion_periods", base.promotion_periods),
        promotion=promotion,
        hoarding_share=_share(doc, "hoarding_share", base.hoarding_share),
        cover_days=_int(doc, "cover_days", base.cover_days),
        entry_loading_fen=(
            parse_cny(doc["entry_loading"]) if "entry_loading" in doc else base.entry_loading_fen
        ),
        tax_flag_fen=parse_cny(doc["tax_flag"]) if "tax_flag" in doc else base.tax_flag_fen,
    )


def to_document(policy: Policy) -> dict[str, Any]:
    """The whole policy as a JSON document (what PolicyIssued records)."""
    return {
        "tiers": {name: str(share) for name, share in policy.tiers},
        "max_depth": policy.max_depth,
        "join_fee": format_cny(policy.join_fee_fen),
        "required_purchase": policy.required_purchase,
        "pay_on_recruits": policy.pay_on_recruits,
        "commission_on_purchases": policy.commission_on_purchases,
        "override_levels": policy.override_levels,
        "override_rate": str(policy.override_rate),
        "commission_cap": str(policy.commission_cap),
        "brackets": [
            {"from": format_cny(b.from_fen), "rate": str(b.rate)} for b in policy.brackets
        ],
        "price_floor": str(policy.price_floor),
        "price_ceiling": str(policy.price_ceiling),
        "return_days": policy.return_days,
        "late_entry_hours": policy.late_entry_hours,
        "buyback_share": str(policy.buyback_share),
        "buyback_days": policy.buyback_days,
        "promotion_periods": policy.promotion_periods,
        "promotion": {
            tier: {"own": format_cny(own), "downline": format_cny(down)}
            for tier, (own, down) in policy.promotion.items()
        },
        "hoarding_share": str(policy.hoarding_share),
        "cover_days": policy.cover_days,
        "entry_loading": format_cny(policy.entry_loading_fen),
        "tax_flag": format_cny(policy.tax_flag_fen),
    }
