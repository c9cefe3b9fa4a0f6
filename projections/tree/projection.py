"""The agent tree through time: one row per version of a node, valid over an interval.

A version is valid from the event that made it (its position and business time) until
the event that replaced it: [from, to), with NULL `to` for the current version. Join,
promote, demote, suspend, reinstate and terminate each close the node's current version
and open the next, so the tree as it stood at any position or business time, each
agent's depth, tier and status, and its downline counts are one query (queries.py).

`path` is the materialised ancestor path, root first and the agent itself last
("A1/A2/A3"). No command moves an agent to another sponsor, so a node's path is fixed
at its join, and the downline of X is every node whose path starts with X's path + "/":
one range scan of a text_pattern_ops index, whatever the size of the tree.

Business-time validity reads the versions in the order they were recorded; the ledger
judges each command at its business time, which never runs backwards within a stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from domain.agents.model import ACTIVE, SUSPENDED, TERMINATED
from domain.events import Codec
from domain.ports import RecordedEvent
from projections.runner import Projection

AGENT_STREAM = "agent-"
SEP = "/"

# What each event (other than the join) makes of a node: ("tier", field) or ("status", value).
_CHANGES: dict[str, tuple[str, str]] = {
    "AgentPromoted": ("tier", "to_tier"),
    "AgentDemoted": ("tier", "to_tier"),
    "AgentSuspended": ("status", SUSPENDED),
    "AgentReinstated": ("status", ACTIVE),
    "AgentTerminated": ("status", TERMINATED),
}

COLUMNS = (
    "tenant", "agent", "sponsor", "depth", "tier", "status", "path", "joined_at",
    "valid_from_position", "valid_to_position", "valid_from_time", "valid_to_time",
)


def segment(agent: str) -> str:
    """An agent id as one path segment: "%" and "/" escaped, so paths never collide."""
    return agent.replace("%", "%25").replace(SEP, "%2F")


def agent_of(stream: str) -> str:
    if not stream.startswith(AGENT_STREAM):
        raise ValueError(f"stream {stream!r} is not an agent stream")
    return stream[len(AGENT_STREAM):]


@dataclass(slots=True)
class Version:
    agent: str
    sponsor: str | None
    depth: int
    tier: str
    status: str
    path: str
    joined_at: datetime
    from_position: int
    from_time: datetime
    to_position: int | None = None
    to_time: datetime | None = None
    stored: bool = False  # already a row in the table (closing it is an UPDATE)

    def record(self, tenant: str) -> tuple[object, ...]:
        return (
            tenant, self.agent, self.sponsor, self.depth, self.tier, self.status, self.path,
            self.joined_at, self.from_position, self.to_position, self.from_time, self.to_time,
        )


class TreeProjection(Projection):
    name = "tree"
    # 2: nodes_from_time, nodes_current_by_id (the console's counts and lists);
    # 3: nodes_by_id (the agents list as of a past date)
    version = 3
    reads = ("AgentJoined", *_CHANGES)
    ddl = """
    CREATE TABLE {s}.nodes (
        tenant              text        NOT NULL,
        agent               text        NOT NULL,
        sponsor             text,
        depth               int         NOT NULL,
        tier                text        NOT NULL,
        status              text        NOT NULL,
        path                text        NOT NULL,
        joined_at           timestamptz NOT NULL,
        valid_from_position bigint      NOT NULL,
        valid_to_position   bigint,
        valid_from_time     timestamptz NOT NULL,
        valid_to_time       timestamptz,
        PRIMARY KEY (tenant, agent, valid_from_position)
    );
    -- One current version per node: a version applied twice would break this.
    CREATE UNIQUE INDEX nodes_current ON {s}.nodes (tenant, agent)
        WHERE valid_to_position IS NULL;
    CREATE INDEX nodes_path ON {s}.nodes (tenant, path text_pattern_ops);
    CREATE INDEX nodes_sponsor ON {s}.nodes (tenant, sponsor);
    -- Joins and terminations in a period; the agents as they stand, by id (prefix search).
    CREATE INDEX nodes_from_time ON {s}.nodes (tenant, valid_from_time);
    CREATE INDEX nodes_current_by_id ON {s}.nodes (tenant, agent COLLATE "C")
        WHERE valid_to_position IS NULL;
    -- Every version by id: the agents list as of a past date, a page at a time.
    CREATE INDEX nodes_by_id ON {s}.nodes (tenant, agent COLLATE "C", valid_from_time);
    """

    def __init__(self) -> None:
        self.codec = Codec()

    async def apply(
        self, conn: asyncpg.Connection, s: str, tenant: str, events: Sequence[RecordedEvent]
    ) -> None:
        decoded = [(e, self.codec.decode(e)) for e in events]
        wanted = {agent_of(e.stream) for e, _ in decoded if e.name != "AgentJoined"}
        wanted |= {d.sponsor for e, d in decoded if e.name == "AgentJoined" and d.sponsor}
        current = await _current(conn, s, tenant, wanted)
        closed: list[Version] = []  # stored versions this batch replaces
        opened: list[Version] = []  # new versions, some already replaced in this batch
        for e, d in decoded:
            if e.name == "AgentJoined":
                path = segment(d.agent)
                if d.sponsor is not None:
                    path = _known(current, d.sponsor, e).path + SEP + path
                node = Version(
                    d.agent, d.sponsor, d.depth, d.tier, ACTIVE, path, e.business_time,
                    e.position, e.business_time,
                )
            else:
                before = _known(current, agent_of(e.stream), e)
                field, value = _CHANGES[e.name]
                tier = getattr(d, value) if field == "tier" else before.tier
                status = value if field == "status" else before.status
                node = Version(
                    before.agent, before.sponsor, before.depth, tier, status, before.path,
                    before.joined_at, e.position, e.business_time,
                )
                before.to_position, before.to_time = e.position, e.business_time
                if before.stored:
                    closed.append(before)
            current[node.agent] = node
            opened.append(node)
        if closed:
            await conn.execute(
                f"UPDATE {s}.nodes n SET valid_to_position = c.pos, valid_to_time = c.at"
                " FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::timestamptz[])"
                " AS c(agent, from_pos, pos, at)"
                " WHERE n.tenant = $1 AND n.agent = c.agent"
                " AND n.valid_from_position = c.from_pos",
                tenant,
                [v.agent for v in closed],
                [v.from_position for v in closed],
                [v.to_position for v in closed],
                [v.to_time for v in closed],
            )
        if opened:
            await conn.copy_records_to_table(
                "nodes", schema_name=s, columns=COLUMNS,
                records=[v.record(tenant) for v in opened],
            )


def _known(current: dict[str, Version], agent: str, e: RecordedEvent) -> Version:
    found = current.get(agent)
    if found is None:
        # The ledger never records this; stop rather than guess (the runner halts here).
        raise LookupError(f"{e.name} at position {e.position} names unknown agent {agent!r}")
    return found


async def _current(
    conn: asyncpg.Connection, s: str, tenant: str, agents: set[str]
) -> dict[str, Version]:
    """The current stored version of each of these agents, in one round trip."""
    if not agents:
        return {}
    rows = await conn.fetch(
        f"SELECT agent, sponsor, depth, tier, status, path, joined_at,"
        f" valid_from_position, valid_from_time FROM {s}.nodes"
        " WHERE tenant = $1 AND agent = ANY($2::text[]) AND valid_to_position IS NULL",
        tenant,
        list(agents),
    )
    return {
        r["agent"]: Version(
            r["agent"], r["sponsor"], r["depth"], r["tier"], r["status"], r["path"],
            r["joined_at"], r["valid_from_position"], r["valid_from_time"], stored=True,
        )
        for r in rows
    }
