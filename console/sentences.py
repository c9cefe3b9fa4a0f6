"""Each event as a sentence in the page's language, built from its payload: "A2 sold 2 ×
TEA-01 for ¥198.00 (sale S1)" / "A2 零售 2 件 TEA-01，¥198.00（单号 S1）", on an agent's
timeline and on the Events list. One entry per event name the ledger records; an unknown
name is shown as it is. Personal data is sealed in the payload and never opened here:
the sentences name agents, SKUs, amounts and references only.

The template filter `sentence` (registered by console/app.py, beside formats') takes the event
and what its stream is about: the agent whose page it is (stock events do not name their
agent), or, left out, the id in the event's own stream ("stock-A2": A2, "sale-S1": S1).
The filter `movement` names a stock movement (a sale, a return, ...) in a table's Kind
column.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from babel.support import Translations

from console.formats import china_time, money, rule_name, tier_name
from console.i18n import N_


class Tier(str):
    """A tier code among a sentence's values: shown by its name in the language."""


class RuleCode(str):
    """A rule code (an alert's) among a sentence's values: shown by its name."""


class Word(str):
    """A word the catalogues translate among a sentence's values (an alert's severity, a
    dispute's outcome)."""


class Moment(str):
    """An instant among a sentence's values (ISO 8601, as fields_of gives it): shown as
    China time."""


# A dispute's outcomes (domain.compliance.disputes.OUTCOMES), named so the catalogues
# hold them.
OUTCOME_WORDS = (N_("upheld"), N_("partly-upheld"), N_("rejected"), N_("withdrawn"))


Said = tuple[str, dict[str, Any]]  # a message id and its values
Fields = dict[str, Any]


def _lines(fields: Fields) -> list[dict[str, Any]]:
    return list(fields.get("lines") or [])


def _amount(fields: Fields, price: str = "unit_price") -> int:
    return sum(int(line["qty"]) * int(line.get(price, 0)) for line in _lines(fields))


def _with_reason(message: str, bare: str) -> Callable[[str, Fields], Said]:
    def said(agent: str, f: Fields) -> Said:
        return (message, {"agent": agent, "reason": f["reason"]}) if f.get("reason") \
            else (bare, {"agent": agent})
    return said


def _joined(agent: str, f: Fields) -> Said:
    if f.get("sponsor") is None:
        return N_("%(agent)s joined as %(tier)s directly under HQ"), \
            {"agent": agent, "tier": Tier(f["tier"])}
    return N_("%(agent)s joined as %(tier)s under %(sponsor)s"), \
        {"agent": agent, "tier": Tier(f["tier"]), "sponsor": f["sponsor"]}


def _purchased(agent: str, f: Fields) -> Said:
    values = {"agent": agent, "lines": f, "amount": _amount(f), "purchase": f["purchase"]}
    if f.get("seller") is None:
        return N_("%(agent)s bought %(lines)s from HQ for %(amount)s (purchase %(purchase)s)"), \
            values
    return N_("%(agent)s bought %(lines)s from %(seller)s for %(amount)s "
              "(purchase %(purchase)s)"), values | {"seller": f["seller"]}


SENTENCES: dict[str, Callable[[str, Fields], Said]] = {
    "AgentJoined": _joined,
    "DownlineJoined": lambda a, f: (N_("%(agent)s recruited %(recruit)s as %(tier)s"),
                                    {"agent": a, "recruit": f["recruit"],
                                     "tier": Tier(f["tier"])}),
    "AgentPromoted": lambda a, f: (N_("%(agent)s promoted from %(from)s to %(to)s"),
                                   {"agent": a, "from": Tier(f["from_tier"]),
                                    "to": Tier(f["to_tier"])}),
    "AgentDemoted": lambda a, f: (N_("%(agent)s demoted from %(from)s to %(to)s: %(reason)s"),
                                  {"agent": a, "from": Tier(f["from_tier"]),
                                   "to": Tier(f["to_tier"]), "reason": f["reason"]}),
    "AgentWarned": _with_reason(N_("%(agent)s warned: %(reason)s"), N_("%(agent)s warned")),
    "AgentSuspended": _with_reason(N_("%(agent)s suspended: %(reason)s"),
                                   N_("%(agent)s suspended")),
    "AgentReinstated": _with_reason(N_("%(agent)s reinstated: %(reason)s"),
                                    N_("%(agent)s reinstated")),
    "AgentTerminated": _with_reason(N_("%(agent)s terminated: %(reason)s"),
                                    N_("%(agent)s terminated")),
    "AgentForgotten": lambda a, f: (N_("%(agent)s's personal data erased"), {"agent": a}),
    "StockOpened": lambda a, f: (N_("%(agent)s's stock account opened"), {"agent": a}),
    "StockPurchased": _purchased,
    "StockShipped": lambda a, f: (
        N_("%(agent)s shipped %(lines)s to %(buyer)s for %(amount)s (purchase %(purchase)s)"),
        {"agent": a, "lines": f, "buyer": f["buyer"], "amount": _amount(f),
         "purchase": f["purchase"]}),
    "StockSoldAtRetail": lambda a, f: (
        N_("%(agent)s sold %(lines)s for %(amount)s (sale %(sale)s)"),
        {"agent": a, "lines": f, "amount": _amount(f), "sale": f["sale"]}),
    "StockReturned": lambda a, f: (
        N_("%(lines)s of sale %(sale)s returned to %(agent)s, %(amount)s refunded"),
        {"agent": a, "lines": f, "amount": _amount(f), "sale": f["sale"]}),
    "BuybackCompleted": lambda a, f: (
        N_("HQ bought back %(lines)s from %(agent)s for %(amount)s (buy-back %(buyback)s)"),
        {"agent": a, "lines": f, "amount": _amount(f, "price_paid"), "buyback": f["buyback"]}),
    # Streams not of one agent: `a` is the id in the stream's name (the sale, the SKU).
    "RetailSaleRecorded": lambda a, f: (
        N_("Sale %(sale)s: %(seller)s sold %(lines)s for %(amount)s"),
        {"sale": f["sale"], "seller": f["seller"], "lines": f, "amount": f["amount"]}),
    "SaleReturned": lambda a, f: (
        N_("%(lines)s of sale %(sale)s returned, %(amount)s refunded"),
        {"sale": a, "lines": f, "amount": f["amount"]}),
    "ProductListed": lambda a, f: (
        N_("%(sku)s listed: %(name)s at %(amount)s"),
        {"sku": f["sku"], "name": f["name"], "amount": f["retail_price"]}),
    "ProductPriced": lambda a, f: (
        N_("%(sku)s priced: %(name)s at %(amount)s"),
        {"sku": a, "name": f["name"], "amount": f["retail_price"]}),
    "PolicyBookOpened": lambda a, f: (N_("Policy book opened"), {}),
    "PolicyIssued": lambda a, f: (N_("Policy version %(version)s issued, in force from %(from)s"),
                                  {"version": f["version"], "from": Moment(f["effective_from"])}),
    "AlertRaised": lambda a, f: (
        N_("%(rule)s alert raised on %(agent)s (%(severity)s)"),
        {"rule": RuleCode(f["rule"]), "agent": f["agent"], "severity": Word(f["severity"])}),
    "AlertAcknowledged": lambda a, f: (N_("Alert acknowledged by %(by)s"), {"by": f["by"]}),
    "AlertResolved": lambda a, f: (N_("Alert resolved by %(by)s: %(reason)s"),
                                   {"by": f["by"], "reason": f["reason"]}),
    "DisputeOpened": lambda a, f: (
        N_("%(agent)s opened dispute %(dispute)s about %(subject)s"),
        {"agent": f["agent"], "dispute": f["dispute"], "subject": f["subject"]}),
    "DisputeAnswered": lambda a, f: (N_("Dispute %(dispute)s of %(agent)s answered"),
                                     {"agent": f["agent"], "dispute": f["dispute"]}),
    "DisputeResolved": lambda a, f: (
        N_("Dispute %(dispute)s of %(agent)s resolved (%(outcome)s), adjustment %(amount)s"),
        {"agent": f["agent"], "dispute": f["dispute"], "outcome": Word(f["outcome"]),
         "amount": f["adjustment_fen"]}),
    "ClockStarted": lambda a, f: (N_("Clock started"), {}),
    "ClockTicked": lambda a, f: (N_("Clock ticked"), {}),
    "PeriodClosed": lambda a, f: (
        N_("Period %(period)s closed: %(statements)s statements, %(amount)s in all"),
        {"period": f["period"], "statements": f["statements"], "amount": f["total_fen"]}),
    "StatementIssued": lambda a, f: (
        N_("Statement of %(agent)s for %(period)s issued: %(amount)s"),
        {"agent": f["agent"], "period": f["period"], "amount": f["total_fen"]}),
    "CheckpointSigned": lambda a, f: (N_("Events %(first)s–%(last)s signed"),
                                      {"first": f["from_position"], "last": f["to_position"]}),
}

# A stock movement's name in the agent page's tables of sales and purchases.
MOVEMENTS: dict[str, str] = {
    "StockSoldAtRetail": N_("Sale"),
    "StockReturned": N_("Return"),
    "StockPurchased": N_("Purchase"),
    "StockShipped": N_("Shipment to the downline"),
    "BuybackCompleted": N_("Buy-back"),
}


def _shown(translations: Translations, key: str, value: Any) -> str:
    if isinstance(value, Tier):
        return tier_name(translations, value)
    if isinstance(value, RuleCode):
        return rule_name(translations, value)
    if isinstance(value, Word):
        return str(translations.gettext(value))
    if isinstance(value, Moment):
        return china_time(datetime.fromisoformat(value))
    if key == "amount":
        return money(value)
    if key == "lines":
        each = str(translations.gettext(N_("%(qty)s × %(sku)s")))
        return str(translations.gettext(N_(", "))).join(
            each % {"qty": line["qty"], "sku": line["sku"]} for line in _lines(value))
    return str(value)


def about(stream: str) -> str:
    """The id a stream's name holds: "stock-A2" -> "A2", "product-TEA-01" -> "TEA-01"."""
    return stream.partition("-")[2] or stream


def sentence(translations: Translations, event: Any, agent: str | None = None) -> str:
    """`event` (with .name and .fields, as console.data.agent.Happening; and .stream when
    `agent` is None) as a sentence about `agent`; its name as it is when there is no
    sentence for it."""
    say = SENTENCES.get(event.name)
    if say is None:
        return str(event.name)
    try:
        message, values = say(about(event.stream) if agent is None else agent, event.fields)
        return str(translations.gettext(message)) % {
            k: _shown(translations, k, v) for k, v in values.items()}
    except (KeyError, TypeError, ValueError):  # a payload of another shape: still shown
        return str(event.name)


def movement(translations: Translations, name: str) -> str:
    """A stock movement's event name as the kind of movement it is (as it is, if not one)."""
    label = MOVEMENTS.get(name)
    return name if label is None else str(translations.gettext(label))
