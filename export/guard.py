"""Before an export is signed: the ledger must hold together, then end on a signed root.

The brand's signature on an export says "this is our ledger". So the CLI and the API
alike first recompute the tenant's whole chain (eventstore/verify.py: every hash, no
gap, the head where chain_heads says) and hold it against the receipts kept outside the
database (export/receipts.py: a deleted tail with chain_heads edited to match, a
rewrite); only then is a checkpoint signed through the head, so the export's last
event is covered by a signed root and a receipt.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain.ports import EventStore
from eventstore.database import Conn, Pool
from eventstore.verify import verify_chain
from export.checkpoints import Cut, checkpoint
from export.receipts import check_receipts, receipts_folder


class LedgerNotIntact(Exception):
    """The chain, its head or its receipts disagree: the brand will not sign it."""


async def ensure_intact(conn: Conn, tenant: str, keys_dir: Path,
                        key: Ed25519PrivateKey) -> None:
    chain = await verify_chain(conn, tenant)
    faults = [str(fault) for fault in chain.breaks]
    if not faults:
        receipts = await check_receipts(conn, tenant, receipts_folder(keys_dir, tenant),
                                        key.public_key())
        faults += receipts.faults
    if faults:
        raise LedgerNotIntact("the ledger does not verify, nothing signed: " + "; ".join(faults))


async def sign_head(pool: Pool, store: EventStore, tenant: str,
                    key: Ed25519PrivateKey, keys_dir: Path, every: int) -> list[Cut]:
    """Refuse a ledger that does not verify; else sign every range due, through the head."""
    async with pool.acquire() as conn:
        await ensure_intact(conn, tenant, keys_dir, key)
    return await checkpoint(store, tenant, key, every, through_head=True,
                            receipts=receipts_folder(keys_dir, tenant))
