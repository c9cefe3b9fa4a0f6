"""merkle.py against RFC 6962's own definitions, written out the slow way: the tree
hash MTH and the consistency proof PROOF(m, D[n]) of section 2.1.2."""

from __future__ import annotations

import hashlib

from export.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    leaf_hash,
    merkle_root,
    node_hash,
    verify_consistency,
)

LEAVES = [hashlib.sha256(str(n).encode()).digest() for n in range(40)]


def mth(d: list[bytes]) -> bytes:
    if not d:
        return EMPTY_ROOT
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = 1 << ((len(d) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + mth(d[:k]) + mth(d[k:])).digest()


def subproof(m: int, d: list[bytes], whole: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if whole else [mth(d)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*subproof(m, d[:k], whole), mth(d[k:])]
    return [*subproof(m - k, d[k:], False), mth(d[:k])]


def test_the_root_is_rfc_6962s_tree_hash() -> None:
    assert leaf_hash(LEAVES[0]) == mth(LEAVES[:1])
    assert node_hash(mth(LEAVES[:1]), mth(LEAVES[1:2])) == mth(LEAVES[:2])
    assert all(merkle_root(LEAVES[:n]) == mth(LEAVES[:n]) for n in range(len(LEAVES)))


def test_consistency_proofs_are_rfc_6962s_and_verify() -> None:
    for n in range(1, len(LEAVES) + 1):
        for m in range(1, n + 1):
            proof = consistency_proof(m, n, iter(LEAVES))
            assert proof == subproof(m, LEAVES[:n], True), (m, n)
            assert verify_consistency(m, n, mth(LEAVES[:m]), mth(LEAVES[:n]), proof), (m, n)


def test_a_changed_old_leaf_fails_the_proof_wherever_it_is() -> None:
    n = 37
    for m in (1, 2, 5, 8, 16, 33, 36):
        for at in range(m):
            forged = [*LEAVES[:at], b"\xff" * 32, *LEAVES[at + 1:]]
            proof = consistency_proof(m, n, iter(LEAVES))
            assert not verify_consistency(m, n, mth(forged[:m]), mth(LEAVES[:n]), proof)
            # nor does a proof made from the forged log pass for the true new root
            bad = consistency_proof(m, n, iter(forged))
            assert not verify_consistency(m, n, mth(forged[:m]), mth(LEAVES[:n]), bad)
