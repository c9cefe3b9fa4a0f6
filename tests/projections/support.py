"""Shared by the read-model tests: table dumps, random journals, and the tree rebuilt
from the events by the domain's own aggregates."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from domain.agents.identity import check_character
from domain.events import Codec
from domain.periods import CST
from domain.ports import EventStore
from projections.rebuilt import dump, renamed  # noqa: F401 (the tests' names for them)

TIERS = ("partner", "general", "first", "vip")
# agent -> (sponsor, depth, tier, status, direct recruits, whole downline)
Tree = dict[str, tuple[str | None, int, str, str, int, int]]




def id_number(n: int) -> str:
    """A valid 身份证 number of an adult, different for every n below 1000."""
    first17 = f"110101{1970 + n % 30:04d}0101{n % 1000:03d}"
    return first17 + check_character(first17)


def _line(at: datetime, cmd: str, **fields: Any) -> str:
    return json.dumps({"at": at.isoformat(), "cmd": cmd, **fields}, ensure_ascii=False)


@st.composite
def journals(draw: st.DrawFn, max_commands: int = 40) -> list[str]:
    """A random journal that starts with one top-level agent, then joins under random
    sponsors (unknown ones too), purchases from HQ or anyone, sales, returns and status
    changes. Many commands are refused; what is recorded is whatever the ledger accepts."""
    at = datetime(2026, 1, 1, 9, tzinfo=CST)
    lines = [_line(at, "product", sku="TEA-01", name="茶", retail_price="99.00"),
             _line(at, "join", agent="A1", sponsor=None, tier="partner", name="甲",
                   id_number=id_number(1), phone="13800000001")]
    agents, sales = ["A1"], ["S0"]
    for i in range(draw(st.integers(3, max_commands))):
        at += timedelta(minutes=draw(st.sampled_from([0, 30, 600, 1440, 4000, 12000])))
        kind = draw(st.sampled_from(
            ["join"] * 4 + ["purchase"] * 3 + ["sale"] * 3
            + ["return", "suspend", "reinstate", "terminate", "promote", "demote"]
        ))
        agent = draw(st.sampled_from(agents))
        if kind == "join":
            name = f"A{len(agents) + 1}"
            sponsor = draw(st.sampled_from([None, "ZZ", *agents]))
            lines.append(_line(at, "join", agent=name, sponsor=sponsor,
                               tier=draw(st.sampled_from(TIERS)), name="乙",
                               id_number=id_number(len(agents) + 1), phone="13800000002"))
            agents.append(name)
        elif kind == "purchase":
            seller = draw(st.sampled_from([None, None, *agents]))
            qty = draw(st.integers(1, 40))
            lines.append(_line(at, "purchase", buyer=agent, seller=seller,
                               lines=[{"sku": "TEA-01", "qty": qty}]))
        elif kind == "sale":
            sale = draw(st.sampled_from([f"S{i}", f"S{i}", sales[-1]]))
            sales.append(sale)
            lines.append(_line(
                at, "sale", sale=sale, seller=agent,
                customer=draw(st.sampled_from(["C1", "C2", "C3", None])),
                lines=[{"sku": "TEA-01", "qty": draw(st.integers(1, 6)),
                        "unit_price": draw(st.sampled_from(["99.00", "99.00", "80.00"]))}],
            ))
        elif kind == "return":
            lines.append(_line(at, "return", sale=draw(st.sampled_from(sales)),
                               lines=[{"sku": "TEA-01", "qty": draw(st.integers(1, 3))}]))
        elif kind in ("promote", "demote"):
            lines.append(_line(at, kind, agent=agent, tier=draw(st.sampled_from(TIERS))))
        else:
            lines.append(_line(at, kind, agent=agent))
    return lines


async def replayed_tree(
    store: EventStore, tenant: str, *, position: int | None = None, at: datetime | None = None
) -> Tree:
    """The tree as the Agent aggregates stood then, rebuilt from the events alone."""
    recorded = await store.read_all(
        tenant, upto_position=position, upto_business_time=at, limit=10**7
    )
    streams: dict[str, list] = {}
    for e in recorded:
        if e.stream.startswith("agent-"):
            streams.setdefault(e.stream, []).append(e)
    codec = Codec()
    agents = [codec.replay(events) for events in streams.values()]
    sponsor = {a.agent: a.sponsor for a in agents}
    direct: dict[str, int] = {}
    total: dict[str, int] = {}
    for a in agents:
        up = a.sponsor
        if up is not None:
            direct[up] = direct.get(up, 0) + 1
        while up is not None:
            total[up] = total.get(up, 0) + 1
            up = sponsor[up]
    return {
        a.agent: (a.sponsor, a.depth, a.tier, a.status, direct.get(a.agent, 0),
                  total.get(a.agent, 0))
        for a in agents
    }


def as_tree(nodes: Sequence[Any]) -> Tree:
    return {n.agent: (n.sponsor, n.depth, n.tier, n.status, n.direct, n.total) for n in nodes}
