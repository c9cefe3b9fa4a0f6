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
from projections.alerts.queries import open_then
from projections.sales.queries import net_retail_sql, through_day
from projections.tree.projection import SEP, segment

TREE = "rm_tree.nodes"
NET_RETAIL = "rm_sales.net_retail"
AGENT_DAILY = "rm_sales.agent_daily"


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
               AND ($4::text IS NULL OR r.period = $4) AND $5::date IS NULL
             GROUP BY r.agent
            UNION ALL  -- a period cut short (through_day): its first days, day by day
            SELECT x.agent, sum(x.amount - x.returned_amount) FROM {AGENT_DAILY} x
             WHERE x.tenant = $1 AND x.agent IN (SELECT agent FROM d)
               AND x.day >= date_trunc('month', $5::date::timestamp)::date AND x.day <= $5::date
             GROUP BY x.agent
        )
        SELECT d.*, coalesce(money.net, 0)::bigint AS net FROM d LEFT JOIN money USING (agent)
        """,
        tenant, _point(position, at), agent, period, through_day(period, at),
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


def unsegment(text: str) -> str:
    """An agent id back from its path segment (segment's inverse)."""
    return text.replace("%2F", SEP).replace("%25", "%")


def path_up(path: str) -> list[str]:
    """The agents from the top of the tree down to the node of `path` (itself last)."""
    return [unsegment(part) for part in path.split(SEP)]


async def joined_and_terminated(db: Reader, tenant: str, start: datetime, end: datetime
                                ) -> tuple[int, int]:
    """Agents who joined, and who were terminated, at business times in [start, end).

    A join opens a node's first version at its join time; a termination opens its last
    (nothing changes a terminated agent), so both are versions opened in the range."""
    row = await db.fetchrow(
        "SELECT count(DISTINCT agent) FILTER (WHERE valid_from_time = joined_at) AS joined,"
        " count(*) FILTER (WHERE status = 'terminated') AS terminated"
        f" FROM {TREE} WHERE tenant = $1 AND valid_from_time >= $2 AND valid_from_time < $3",
        tenant, start, end,
    )
    assert row is not None  # an aggregate: always one row
    return row["joined"], row["terminated"]


@dataclass(frozen=True, slots=True)
class Member:
    """An agent as a row of the console's lists and tree: where it stands then, its
    team (whole downline) and its money and alerts."""

    agent: str
    sponsor: str | None
    tier: str
    status: str
    depth: int
    path: str
    team: int  # its whole downline then, any depth
    levels: int  # levels of its subtree, counting itself
    net_retail_fen: int  # its own, in the period asked
    open_alerts: int  # open then
    pyramid_risk: str | None  # severity of an open pyramid-risk alert about it then


_ALERTS = "rm_alerts.alerts"


def _member_select(alias: str, through: str) -> str:
    """A Member's columns for the node `alias`; $1 tenant, $2 the point, $4 the period,
    $5 the time alerts are judged open at, `through` the day net retail is summed to."""
    return f"""
        {alias}.agent, {alias}.sponsor, {alias}.tier, {alias}.status, {alias}.depth,
        {alias}.path, team.members AS team, coalesce(team.deepest - {alias}.depth, 0) + 1 AS levels,
        {net_retail_sql(f"{alias}.agent", "$4", through)} AS net_retail_fen,
        (SELECT count(*) FROM {_ALERTS} a WHERE a.tenant = $1 AND a.agent = {alias}.agent
            AND {open_then("a", "$5")}) AS open_alerts,
        (SELECT CASE WHEN bool_or(a.severity = 'critical') THEN 'critical'
                     WHEN count(*) > 0 THEN 'warning' END FROM {_ALERTS} a WHERE a.tenant = $1
            AND a.agent = {alias}.agent AND a.rule = 'pyramid-risk'
            AND {open_then("a", "$5")}) AS pyramid_risk
    """


def _team(alias: str, position: int | None, at: datetime | None) -> str:
    return f"""LATERAL (SELECT count(*) AS members, max(d.depth) AS deepest FROM {TREE} d
                 WHERE d.tenant = $1 AND {_under("d", f"{alias}.path")}
                   AND {visible("d", position, at)}) team"""


def _members(rows: list[Row]) -> list[Member]:
    return [Member(**dict(r)) for r in rows]


async def children(
    db: Reader, tenant: str, sponsor: str | None, *, period: str, after: str = "",
    limit: int = 50, position: int | None = None, at: datetime | None = None,
) -> list[Member]:
    """The direct recruits of `sponsor` (None: the agents at the top) as they stood then,
    by id after `after`: what the genealogy shows when a node is expanded."""
    rows = await db.fetch(
        f"SELECT {_member_select('n', '$8')} FROM {TREE} n, {_team('n', position, at)}"
        f" WHERE n.tenant = $1 AND {visible('n', position, at)}"
        # Two conditions, not IS NOT DISTINCT FROM: that one no index answers.
        f" AND {'n.sponsor IS NULL AND $3::text IS NULL' if sponsor is None else 'n.sponsor = $3'}"
        " AND n.agent COLLATE \"C\" > $6"
        " ORDER BY n.agent COLLATE \"C\" LIMIT $7",
        tenant, _point(position, at), sponsor, period, at, after, limit,
        through_day(period, at),
    )
    return _members(rows)


async def member(
    db: Reader, tenant: str, agent: str, *, period: str, position: int | None = None,
    at: datetime | None = None,
) -> Member | None:
    """One agent as a Member then (None: not joined yet)."""
    row = await db.fetchrow(
        f"SELECT {_member_select('n', '$6')} FROM {TREE} n, {_team('n', position, at)}"
        f" WHERE n.tenant = $1 AND {visible('n', position, at)} AND n.agent = $3",
        tenant, _point(position, at), agent, period, at, through_day(period, at),
    )
    return None if row is None else Member(**dict(row))


@dataclass(frozen=True, slots=True)
class AgentFilter:
    prefix: str = ""  # of the agent id
    tier: str | None = None
    status: str | None = None
    depth: int | None = None
    under: str | None = None  # in the downline of this agent


async def find_agents(
    db: Reader, tenant: str, where: AgentFilter, *, period: str, after: str = "",
    limit: int = 50, at: datetime | None = None,
) -> list[Member]:
    """Agents as they stood at `at` (None: now), by id after `after` (keyset), filtered;
    "in the downline of" as the tree stood then too."""
    rows = await db.fetch(
        f"SELECT {_member_select('n', '$12')} FROM {TREE} n, {_team('n', None, at)}"
        f" WHERE n.tenant = $1 AND {visible('n', None, at)}"
        " AND n.agent COLLATE \"C\" > $6 AND n.agent COLLATE \"C\" >= $3"
        " AND n.agent COLLATE \"C\" < $3 || chr(1114111)"
        " AND ($8::text IS NULL OR n.tier = $8) AND ($9::text IS NULL OR n.status = $9)"
        " AND ($10::int IS NULL OR n.depth = $10)"
        f" AND ($11::text IS NULL OR {_under('n', _under_root(at))})"
        " ORDER BY n.agent COLLATE \"C\" LIMIT $7",
        tenant, at, where.prefix, period, at, after, limit, where.tier, where.status,
        where.depth, where.under, through_day(period, at),
    )
    return _members(rows)


def _under_root(at: datetime | None) -> str:
    """The path of the agent $11 as it stood at $2 (NULL: now)."""
    return (f"SELECT u.path FROM {TREE} u WHERE u.tenant = $1 AND u.agent = $11"
            f" AND {visible('u', None, at)} LIMIT 1")


async def subtree(
    db: Reader, tenant: str, agent: str, *, limit: int = 500, position: int | None = None,
    at: datetime | None = None,
) -> list[Node]:
    """`agent` and its downline as they stood then, level by level, at most `limit`
    nodes (the levels nearest it first): what a chart of a subtree can show. Their
    counts are left 0: a chart needs the edges, not the sums."""
    where = visible("n", position, at)
    rows = await db.fetch(
        f"SELECT n.agent, n.sponsor, n.depth, n.tier, n.status, n.path FROM {TREE} n"
        f" WHERE n.tenant = $1 AND {where}"
        f" AND (n.path = ({_ROOT}) OR {_under('n', _ROOT)})"
        " ORDER BY n.depth, n.path COLLATE \"C\" LIMIT $4",
        tenant, _point(position, at), agent, limit,
    )
    return [Node(r[0], r[1], r[2], r[3], r[4], r[5], 0, 0) for r in rows]

