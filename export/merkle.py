"""The Merkle tree of a checkpoint: RFC 6962 (Certificate Transparency) over chain hashes.

Leaves are the events' chain hashes (events.hash) in position order, from the
checkpoint's first position to its last, both included. With SHA-256:

    leaf(h)       = SHA-256(0x00 || h)
    node(l, r)    = SHA-256(0x01 || l || r)
    MTH([])       = SHA-256("")
    MTH([h])      = leaf(h)
    MTH(D[0:n])   = node(MTH(D[0:k]), MTH(D[k:n]))   k = largest power of two < n

So the left subtree is always perfect and an odd node is never duplicated (the
duplication of Bitcoin's tree lets two different lists share a root, CVE-2012-2459);
the 0x00/0x01 prefixes keep a leaf from passing for an inner node. Any RFC 6962 tool
recomputes the same root.

`MerkleBuilder` computes it in one pass with O(log n) memory: a stack of perfect
subtrees, merged while the two on top have equal size, then folded right to left.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(chain_hash: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + chain_hash).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class MerkleBuilder:
    def __init__(self) -> None:
        self.count = 0
        self._stack: list[tuple[int, bytes]] = []  # (leaves under it, its hash)

    def add(self, chain_hash: bytes) -> None:
        self.count += 1
        size, digest = 1, leaf_hash(chain_hash)
        while self._stack and self._stack[-1][0] == size:
            below, left = self._stack.pop()
            size, digest = size + below, node_hash(left, digest)
        self._stack.append((size, digest))

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        # Sizes on the stack strictly decrease (the binary digits of count), so folding
        # from the right pairs each perfect left subtree with everything to its right,
        # exactly the split at the largest power of two.
        digest = self._stack[-1][1]
        for _size, left in reversed(self._stack[:-1]):
            digest = node_hash(left, digest)
        return digest


def merkle_root(chain_hashes: Iterable[bytes]) -> bytes:
    builder = MerkleBuilder()
    for h in chain_hashes:
        builder.add(h)
    return builder.root()


# Consistency between two sizes of one log (RFC 6962 section 2.1.2): the proof that the
# tree of the first m leaves is a prefix of the tree of n. The proof's nodes are the
# roots of disjoint ranges of leaves that depend on (m, n) alone, so a reader streaming
# the leaves once computes them all (`consistency_proof`); `verify_consistency` is the
# verification of RFC 9162 section 2.1.4.2, which needs only the two roots and the proof.

def consistency_ranges(m: int, n: int) -> list[tuple[int, int]]:
    """PROOF(m, D[n]) as [start, end) ranges of leaves, in the proof's order."""
    if not 0 < m <= n:
        raise ValueError(f"no consistency proof from size {m} to {n}")

    def sub(m: int, start: int, end: int, whole: bool) -> list[tuple[int, int]]:
        size = end - start
        if m == size:
            return [] if whole else [(start, end)]
        k = 1 << ((size - 1).bit_length() - 1)  # largest power of two < size
        if m <= k:
            return [*sub(m, start, start + k, whole), (start + k, end)]
        return [*sub(m - k, start + k, end, False), (start, start + k)]

    return sub(m, 0, n, True)


def consistency_proof(m: int, n: int, chain_hashes: Iterable[bytes]) -> list[bytes]:
    """The proof's nodes from one pass over the first n leaves."""
    ranges = consistency_ranges(m, n)
    builders = {r: MerkleBuilder() for r in ranges}
    ordered = sorted(ranges)
    at = 0
    for index, h in enumerate(chain_hashes):
        if index >= n:
            break
        while at < len(ordered) and ordered[at][1] <= index:
            at += 1
        if at < len(ordered) and ordered[at][0] <= index:
            builders[ordered[at]].add(h)
    return [builders[r].root() for r in ranges]


def verify_consistency(m: int, n: int, old_root: bytes, new_root: bytes,
                       proof: list[bytes]) -> bool:
    """RFC 9162 2.1.4.2: does `proof` show the tree of size m inside the tree of size n?"""
    if not 0 < m <= n:
        return False
    if m == n:
        return not proof and old_root == new_root
    path = list(proof)
    if m & (m - 1) == 0:  # a power of two: the old root is itself a node of the new tree
        path.insert(0, old_root)
    if not path:
        return False
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root
