"""A journal line as the HTTP call that says the same thing: which endpoint, which body.

Written from the API's documented routes, independently of api/, so the scenario test
checks that every journal command has an endpoint taking the journal's fields."""

from __future__ import annotations

import json
from typing import Any

AGENT_COMMANDS = {"promote", "demote", "warn", "suspend", "reinstate", "terminate", "forget"}


def to_request(line: str) -> tuple[str, dict[str, Any]]:
    """(path, JSON body) of the POST that runs this journal line."""
    doc = json.loads(line)
    cmd = doc.pop("cmd")
    if cmd == "policy":
        head = {k: doc.pop(k) for k in ("at", "version", "effective_from") if k in doc}
        return "/v1/policies", {**head, "document": doc}
    if cmd in AGENT_COMMANDS:
        return f"/v1/agents/{doc.pop('agent')}/{cmd}", doc
    if cmd == "return":
        return f"/v1/sales/{doc.pop('sale')}/returns", doc
    if cmd == "close_period":
        return f"/v1/periods/{doc.pop('period')}/close", doc
    if cmd in ("answer_dispute", "resolve_dispute"):
        return f"/v1/disputes/{doc.pop('dispute')}/{cmd.split('_')[0]}", doc
    if cmd in ("acknowledge_alert", "resolve_alert"):
        return f"/v1/alerts/{doc.pop('alert')}/{cmd.split('_')[0]}", doc
    plain = {"product": "/v1/products", "join": "/v1/agents", "purchase": "/v1/purchases",
             "sale": "/v1/sales", "buyback": "/v1/buybacks", "open_dispute": "/v1/disputes",
             "tick": "/v1/clock/tick"}
    return plain[cmd], doc
