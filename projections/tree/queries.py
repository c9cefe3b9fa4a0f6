"""Reads of the tree read model (rm_tree), for the API, the console and the export.

Every function takes a pool or a connection, the tenant, and an optional point in
history: `position` (events up to and including it) or `at` (business time),
never both; neither means "now". A tree version is visible at P when
valid_from <= P < valid_to (NULL valid_to: still current), so the past is one query.

Downline queries read the materialised path: X's downline is every node whose path
starts with X's path + "/", asked as a byte-wise range (~>=~ / ~<~) that the
text_pattern_ops index answers even with the bounds as parameters; LIKE 'x%' would not
be planned onto the index for a prepared statement's generic plan.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from eventstore.database import Conn, Reader, Row
from projections.tree.projection import segment

TREE = "rm_tree.nodes"
NET_RETAIL = "rm_sales.net_retail"


class Node(NamedTuple):
    """One agent as it stood then. A NamedTuple: a large downline makes thousands."""

    agent: str
    sponsor: str | None
    depth: int
    tier: str
    status: str
    path: str
    direct: int  # direct recruits visible at that point
    total: int  # whole downline, any depth


@dataclass(frozen=True, slots=True)
class Recruit:
    agent: str
    tier: str
    status: str
    downline: int  # the recruit's own downline, any depth
    net_retail_fen: int


@dataclass(frozen=True, slots=True)
class DownlineSummary:
    """What an agent may see of its team: counts and money, no personal data."""

    agent: str
    direct: int
    total: int
    active: int
    by_level: dict[int, int]  # 1 = direct recruits, 2 = their recruits, ...
    net_retail_fen: int  # the whole downline's, in the period (all periods if None)
    recruits: tuple[Recruit, ...]


def visible(alias: str, position: int | None, at: datetime | None) -> str:
    """The validity condition on $2 for versions of `alias`."""
    if position is not None and at is not None:
        raise ValueError("ask as of a position or a business time, not both")
    if position is not None:
        return (f"{alias}.valid_from_position <= $2::bigint AND"
                f" ({alias}.valid_to_position IS NULL OR {alias}.valid_to_position > $2::bigint)")
    if at is not None:
        if at.tzinfo is None:
            raise ValueError("business time must carry its UTC offset")
        return (f"{alias}.valid_from_time <= $2::timestamptz AND"
                f" ({alias}.valid_to_time IS NULL OR {alias}.valid_to_time > $2::timestamptz)")
    return f"{alias}.valid_to_position IS NULL AND $2::bigint IS NULL"


def _point(position: int | None, at: datetime | None) -> Any:
    return position if position is not None else at


def _under(alias: str, root: str) -> str:
    """`alias` is in the downline of the node whose path is the SQL expression `root`."""
    return f"({alias}.path ~>=~ (({root}) || '/') AND {alias}.path ~<~ (({root}) || '0'))"


_ROOT = f"SELECT path FROM {TREE} WHERE tenant = $1 AND agent = $3 LIMIT 1"


async def tree_as_of(
    db: Reader,
    tenant: str,
    *,
    position: int | None = None,
    at: datetime | None = None,
    agent: str | None = None,
) -> list[Node]:
    """The whole tree, or `agent` and its downline (agent first), in path order.

    One statement reads the versions visible then; the downline counts are summed here
    from the paths (each node counts once for each of its ancestors), which costs less
    than a second pass over the rows in SQL.
    """
    where = visible("n", position, at)
    if agent is not None:
        where += f" AND (n.path = ({_ROOT}) OR {_under('n', _ROOT)})"
    else:
        where += " AND $3::text IS NULL"
    rows = await db.fetch(
        f"SELECT n.agent, n.sponsor, n.depth, n.tier, n.status, n.path FROM {TREE} n"
        f" WHERE n.tenant = $1 AND {where} ORDER BY n.path COLLATE \"C\"",
        tenant, _point(position, at), agent,
    )
    direct: dict[str | None, int] = {}
    total: dict[str, int] = {}
    for _, sponsor, _, _, _, path in rows:
        direct[sponsor] = direct.get(sponsor, 0) + 1
        for ancestor in path.split("/")[:-1]:
            total[ancestor] = total.get(ancestor, 0) + 1
    return [
        Node(agent, sponsor, depth, tier, status, path, direct.get(agent, 0),
             total.get(segment(agent), 0))
        for agent, sponsor, depth, tier, status, path in rows
    ]


async def agent_as_of(
    db: Reader,
    tenant: str,
    agent: str,
    *,
    position: int | None = None,
    at: datetime | None = None,
) -> Node | None:
    """One agent as it stood then, with its downline counts (None: not joined yet)."""
    row = await db.fetchrow(
        f"""
        SELECT n.agent, n.sponsor, n.depth, n.tier, n.status, n.path,
               (SELECT count(*) FROM {TREE} d WHERE d.tenant = $1 AND d.sponsor = n.agent
                   AND {visible("d", position, at)}) AS direct,
               (SELECT count(*) FROM {TREE} d WHERE d.tenant = $1 AND {_under("d", "n.path")}
                   AND {visible("d", position, at)}) AS total
          FROM {TREE} n
         WHERE n.tenant = $1 AND n.agent = $3 AND {visible("n", position, at)}
        """,
        tenant, _point(position, at), agent,
    )
    return None if row is None else Node(**dict(row))


async def downline_summary(
    db: Reader,
    tenant: str,
    agent: str,
    *,
    period: str | None = None,
    position: int | None = None,
    at: datetime | None = None,
) -> DownlineSummary:
    """Counts and net retail of `agent`'s downline as it stood then."""
    rows = await db.fetch(
        f"""
        WITH d AS (
            SELECT n.agent, n.sponsor, n.depth, n.tier, n.status, n.path FROM {TREE} n
             WHERE n.tenant = $1 AND {_under("n", _ROOT)} AND {visible("n", position, at)}
        ), money AS (
            SELECT r.agent, sum(r.amount - r.returned_amount) AS net FROM {NET_RETAIL} r
             WHERE r.tenant = $1 AND r.agent IN (SELECT agent FROM d)
               AND ($4::text IS NULL OR r.period = $4)
             GROUP BY r.agent
        )
        SELECT d.*, coalesce(money.net, 0)::bigint AS net FROM d LEFT JOIN money USING (agent)
        """,
        tenant, _point(position, at), agent, period,
    )
    root = segment(agent)
    by_level: dict[int, int] = {}
    under: dict[str, int] = {}  # direct recruit's path segment -> its downline count
    for r in rows:
        rest = r["path"].split("/")
        level = len(rest) - rest.index(root) - 1
        by_level[level] = by_level.get(level, 0) + 1
        if level > 1:
            recruit = rest[rest.index(root) + 1]
            under[recruit] = under.get(recruit, 0) + 1
    recruits = tuple(
        Recruit(r["agent"], r["tier"], r["status"], under.get(segment(r["agent"]), 0), r["net"])
        for r in sorted(rows, key=lambda r: r["agent"])
        if r["sponsor"] == agent
    )
    return DownlineSummary(
        agent=agent,
        direct=len(recruits),
        total=len(rows),
        active=sum(r["status"] == "active" for r in rows),
        by_level=dict(sorted(by_level.items())),
        net_retail_fen=sum(r["net"] for r in rows),
        recruits=recruits,
    )


async def current_agents(
    db: Reader, tenant: str, *, after: str, sponsor: str | None, limit: int
) -> list[Row]:
    """Agents as they stand now, by id after `after`, optionally of one sponsor."""
    return await db.fetch(
        "SELECT agent, sponsor, tier, depth, status FROM rm_tree.nodes"
        " WHERE tenant = $1 AND valid_to_position IS NULL AND agent COLLATE \"C\" > $2"
        " AND ($3::text IS NULL OR sponsor = $3) ORDER BY agent COLLATE \"C\" LIMIT $4",
        tenant, after, sponsor, limit,
    )


async def nodes_at(conn: Conn, tenant: str, position: int, *,
                   prefetch: int) -> AsyncIterator[Row]:
    """Every node as it stood at `position`, with its join time, in path order, from a
    server-side cursor (`conn` inside a transaction): the export streams it."""
    cursor = conn.cursor(
        "SELECT n.agent, n.sponsor, n.depth, n.tier, n.status, n.path, n.joined_at"
        f" FROM {TREE} n WHERE n.tenant = $1 AND {visible('n', position, None)}"
        ' ORDER BY n.path COLLATE "C"',
        tenant, position, prefetch=prefetch,
    )
    async for row in cursor:
        yield row
