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
