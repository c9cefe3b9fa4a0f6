"""Each event of an agent's timeline as a sentence in the page's language, built from its
payload: "A2 sold 2 × TEA-01 for ¥198.00 (sale S1)" / "A2 零售 2 件 TEA-01，¥198.00（单号
S1）". One entry per event name an agent's streams hold (its own and its stock's); an
unknown name is shown as it is. Personal data is sealed in the payload and never opened
here: the sentences name agents, SKUs, amounts and references only.

The template filter `sentence` (registered by console/app.py, beside formats') takes the event
and the agent whose page it is: stock events do not name their agent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from babel.support import Translations

from console.formats import money, tier_name
from console.i18n import N_


class Tier(str):
    """A tier code among a sentence's values: shown by its name in the language."""


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
}


def _shown(translations: Translations, key: str, value: Any) -> str:
    if isinstance(value, Tier):
        return tier_name(translations, value)
    if key == "amount":
        return money(value)
    if key == "lines":
        each = str(translations.gettext(N_("%(qty)s × %(sku)s")))
        return str(translations.gettext(N_(", "))).join(
            each % {"qty": line["qty"], "sku": line["sku"]} for line in _lines(value))
    return str(value)


def sentence(translations: Translations, event: Any, agent: str) -> str:
    """`event` (with .name and .fields, as console.data.agent.Happening) as a sentence
    about `agent`; its name as it is when there is no sentence for it."""
    say = SENTENCES.get(event.name)
    if say is None:
        return str(event.name)
    try:
        message, values = say(agent, event.fields)
    except (KeyError, TypeError, ValueError):  # a payload of another shape: still shown
        return str(event.name)
    return str(translations.gettext(message)) % {
        k: _shown(translations, k, v) for k, v in values.items()}
