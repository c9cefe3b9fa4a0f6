"""Checkpoints: the RFC 6962 root, and ranges that never overlap or leave a gap."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import zipfile

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.history import History, write
from export import format as f
from export.checkpoints import checkpoint
from export.merkle import EMPTY_ROOT, leaf_hash, merkle_root, node_hash
from export.signing import checkpoint_message, valid
from tests.export.conftest import JOURNALS, Ledger, verified


def _reference(leaves: list[bytes]) -> bytes:
    """RFC 6962 section 2.1, recursively, as the RFC writes it."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(_reference(leaves[:k]), _reference(leaves[k:]))


def test_the_streaming_root_is_rfc_6962s_for_every_size_up_to_70() -> None:
    leaves = [hashlib.sha256(bytes([n])).digest() for n in range(70)]
    for n in range(71):
        assert merkle_root(leaves[:n]) == _reference(leaves[:n]), n


def test_an_odd_node_is_carried_up_never_duplicated() -> None:
    a, b, c = (hashlib.sha256(x).digest() for x in (b"a", b"b", b"c"))
    assert merkle_root([a, b, c]) == node_hash(node_hash(leaf_hash(a), leaf_hash(b)), leaf_hash(c))
    assert merkle_root([a, b, c]) != merkle_root([a, b, c, c])


async def test_racing_checkpointers_sign_contiguous_ranges_once(pg_store, tenant) -> None:
    key = Ed25519PrivateKey.generate()
    await write(pg_store, tenant, History(agents=10, seed=3).events(120), batch=20)
    await asyncio.gather(*(checkpoint(pg_store, tenant, key, every=16) for _ in range(4)))
    marks = await pg_store.read_stream(tenant, f.CHECKPOINT_STREAM)
    ranges = [json.loads(m.payload) for m in marks]
    assert len(ranges) >= 7
    assert ranges[0]["from_position"] == 1
    for before, after in itertools.pairwise(ranges):
        assert after["from_position"] == before["to_position"] + 1  # no gap, no overlap
    events = await pg_store.read_all(tenant, limit=10_000)
    by_position = {e.position: e.hash for e in events}
    for r in ranges:
        assert r["count"] == 16
        root = merkle_root(by_position[p] for p in range(r["from_position"], r["to_position"] + 1))
        assert root.hex() == r["root"]
        message = checkpoint_message(tenant, r["from_position"], r["to_position"], root)
        assert valid(key.public_key(), bytes.fromhex(r["signature"]), message)
    again = await checkpoint(pg_store, tenant, key, every=16)
    assert again == []  # nothing due until 16 more events


def test_a_period_close_ends_a_checkpoint_after_its_statements(ledger: Ledger) -> None:
    with zipfile.ZipFile(ledger.exports["03-settlement"]) as z:
        marks = json.loads(z.read(f.CHECKPOINTS))
        events = [json.loads(line) for line in z.read(f.EVENTS).splitlines()]
    names = {e["position"]: e["name"] for e in events}
    closes = [m for m in marks if m["trigger"] == "period-close"]
    assert len(closes) == 2  # 2026-01 and 2026-02
    for m in closes:
        assert names[m["to_position"]] == "StatementIssued"
        assert names.get(m["to_position"] + 1) != "StatementIssued"


async def test_an_export_through_the_api_signs_through_the_head_first(ledger: Ledger) -> None:
    """GET /v1/exports, as `weiledger export`, ends on a signed root with its receipt
    (it carried no checkpoint at all on a ledger nobody had checkpointed)."""
    from tests.api.conftest import running_api

    tenant = "api-s02"
    await ledger.cli("keys", "init", "--tenant", tenant)
    await ledger.cli("import", str(JOURNALS[1]), "--tenant", tenant, "--no-progress")
    async with running_api(ledger.url, tenant) as api:
        answer = await api.call("GET", "/v1/exports", "regulator")
    assert answer.status_code == 200, answer.text
    out = ledger.folder / f"{tenant}.zip"
    out.write_bytes(answer.content)
    with zipfile.ZipFile(out) as z:
        marks = json.loads(z.read(f.CHECKPOINTS))
        events = [json.loads(line) for line in z.read(f.EVENTS).splitlines()]
    last_fact = max(e["position"] for e in events if e["name"] != f.CHECKPOINT_EVENT)
    assert marks and marks[-1]["to_position"] == last_fact
    assert marks[-1]["trigger"] == "head"
    receipt = ledger.folder / "keys" / "receipts" / tenant / f"{last_fact:012d}.json"
    assert json.loads(receipt.read_text())["root"] == marks[-1]["root"]
    assert (await verified(out)).ok
