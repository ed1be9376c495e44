"""RFC 9162 (Certificate Transparency 2.0) §2.1 Merkle tree hashing, proofs and their verification.

Pure functions over 32-byte SHA-256 hashes, no database. A leaf is H(0x00 || data), an interior
node H(0x01 || left || right), and a tree of n > 1 leaves splits at k, the largest power of two
smaller than n (not the midpoint). The functions that build proofs take the list of leaf hashes;
the ones that verify take only what a proof carries, as an outside auditor would.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof that does not verify, or arguments no proof can exist for."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    if n < 2:
        raise ValueError("a tree splits only from 2 leaves on")
    return 1 << ((n - 1).bit_length() - 1)


class Tree:
    """Leaf hashes with the roots of their perfect subtrees remembered: once complete, a subtree
    never changes, so proofs and roots over a growing log cost O(log n) hashes each after the
    first, not O(n)."""

    def __init__(self, leaves: Sequence[bytes] = ()) -> None:
        self.leaves: list[bytes] = list(leaves)
        self._perfect: dict[tuple[int, int], bytes] = {}

    def __len__(self) -> int:
        return len(self.leaves)

    def append(self, leaf: bytes) -> None:
        self.leaves.append(leaf)

    def _root(self, start: int, end: int) -> bytes:
        n = end - start
        if n == 0:
            return EMPTY_ROOT
        if n == 1:
            return self.leaves[start]
        perfect = n & (n - 1) == 0
        if perfect and (start, n) in self._perfect:
            return self._perfect[(start, n)]
        k = split_point(n)
        value = node_hash(self._root(start, start + k), self._root(start + k, end))
        if perfect:
            self._perfect[(start, n)] = value
        return value

    def root(self, size: int | None = None) -> bytes:
        """MTH(D[size]) over the first `size` leaves (all by default)."""
        size = len(self) if size is None else size
        if not 0 <= size <= len(self):
            raise ValueError(f"no tree of {size} in {len(self)} leaves")
        return self._root(0, size)

    def _path(self, index: int, start: int, end: int) -> list[bytes]:
        n = end - start
        if n == 1:
            return []
        k = split_point(n)
        if index < k:
            return [*self._path(index, start, start + k), self._root(start + k, end)]
        return [*self._path(index - k, start + k, end), self._root(start, start + k)]

    def inclusion_path(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(m, D[n]) of RFC 9162 §2.1.3.1: the audit path of leaf `index` in the tree of `size`."""
        size = len(self) if size is None else size
        if not 0 <= index < size <= len(self):
            raise ValueError(f"leaf {index} is not in a tree of {size}")
        return self._path(index, 0, size)

    def _subproof(self, m: int, start: int, end: int, complete: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if complete else [self._root(start, end)]
        k = split_point(n)
        if m <= k:
            return [*self._subproof(m, start, start + k, complete), self._root(start + k, end)]
        return [*self._subproof(m - k, start + k, end, False), self._root(start, start + k)]

    def consistency_proof(self, first: int, size: int | None = None) -> list[bytes]:
        """PROOF(m, D[n]) of RFC 9162 §2.1.4.1: the tree of `first` leaves is a prefix of that of `size`."""
        size = len(self) if size is None else size
        if not 0 < first <= size <= len(self):
            raise ValueError(f"no consistency proof from {first} to {size} leaves")
        return self._subproof(first, 0, size, True)


class FrontierTree(Tree):
    """A tree whose first `size` leaves are known only by their frontier (the roots of the
    perfect subtrees that make them up, as `frontier_extend` keeps them), followed by `leaves`.

    Enough for the audit path of any leaf after the frontier: each of its siblings is either
    among the new leaves, or one of the frontier's subtrees, or a union of them (a subtree that
    holds a new leaf never lies strictly inside a frontier subtree). So a proof against the seal
    that took an event in costs that seal's batch, not the whole log."""

    def __init__(self, frontier: Sequence[bytes], size: int, leaves: Sequence[bytes]) -> None:
        super().__init__(leaves)
        if len(frontier) != size.bit_count():
            raise ValueError(f"a frontier of {len(frontier)} subtrees cannot describe {size} leaves")
        self.offset = size
        start = 0
        nodes = iter(frontier)
        for bit in reversed(range(size.bit_length())):
            if size >> bit & 1:
                self._perfect[(start, 1 << bit)] = next(nodes)
                start += 1 << bit

    def __len__(self) -> int:
        return self.offset + len(self.leaves)

    def _root(self, start: int, end: int) -> bytes:
        known = self._perfect.get((start, end - start))
        if known is not None:
            return known
        if end - start == 1:
            if start < self.offset:
                raise ValueError(f"leaf {start} is inside the frontier: only its subtree's root is known")
            return self.leaves[start - self.offset]
        return super()._root(start, end)

    def frontier(self) -> list[bytes]:
        """The frontier of the whole tree (as `frontier_extend` gives it): the roots of its perfect
        subtrees, largest first, read from the ones computing its root already remembered."""
        size, start, nodes = len(self), 0, []
        for bit in reversed(range(size.bit_length())):
            if size >> bit & 1:
                nodes.append(self._root(start, start + (1 << bit)))
                start += 1 << bit
        return nodes

    def inclusion_path(self, index: int, size: int | None = None) -> list[bytes]:
        if index < self.offset:
            raise ValueError(f"leaf {index} is inside the frontier: no path from here")
        return super().inclusion_path(index, size)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes (already H(0x00 || d))."""
    return Tree(leaves).root()


def inclusion_path(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    return Tree(leaves).inclusion_path(index)


def consistency_proof(first: int, leaves: Sequence[bytes]) -> list[bytes]:
    return Tree(leaves).consistency_proof(first)


def verify_inclusion(
    leaf: bytes, index: int, tree_size: int, path: Sequence[bytes], expected_root: bytes
) -> None:
    """RFC 9162 §2.1.3.2; raises ProofError unless `path` proves `leaf` at `index` under the root."""
    if not 0 <= index < tree_size:
        raise ProofError(f"leaf index {index} is outside a tree of {tree_size}")
    fn, sn, result = index, tree_size - 1, leaf
    for sibling in path:
        if sn == 0:
            raise ProofError("the audit path is longer than the tree is deep")
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            result = node_hash(result, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the audit path is shorter than the tree is deep")
    if result != expected_root:
        raise ProofError("the audit path does not lead to the tree head's root")


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 §2.1.4.2; raises ProofError unless the tree of `second` extends that of `first`."""
    if first > second or first < 0:
        raise ProofError(f"a tree of {second} cannot extend one of {first}")
    if first == second:
        if proof or first_root != second_root:
            raise ProofError("equal sizes need equal roots and an empty proof")
        return
    if first == 0:
        if proof:
            raise ProofError("nothing to prove from the empty tree")
        return
    if not proof:
        raise ProofError("an empty consistency proof")
    path = list(proof)
    if first & (first - 1) == 0:  # an exact power of two: the first tree is a node of the second
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for node in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(node, fr), node_hash(node, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, node)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or fr != first_root or sr != second_root:
        raise ProofError("the consistency proof does not join the two tree heads")


def frontier_extend(frontier: Sequence[bytes], size: int, leaves: Sequence[bytes]) -> list[bytes]:
    """Append leaves to a compact tree: `frontier` holds the roots of the perfect subtrees that
    make up a tree of `size` leaves (largest first, one per set bit of `size`). The sealer keeps
    it in each seal so that the next one hashes only its own batch."""
    stack = list(frontier)
    if len(stack) != size.bit_count():
        raise ValueError(f"a frontier of {len(stack)} subtrees cannot describe {size} leaves")
    for leaf in leaves:
        node, bits = leaf, size
        # Merge with equal-sized subtrees: one per trailing 1 bit of the old size.
        while bits & 1:
            node = node_hash(stack.pop(), node)
            bits >>= 1
        stack.append(node)
        size += 1
    return stack


def frontier_root(frontier: Sequence[bytes]) -> bytes:
    """The root of the tree a frontier describes (the subtrees fold from the right)."""
    if not frontier:
        return EMPTY_ROOT
    result = frontier[-1]
    for node in reversed(frontier[:-1]):
        result = node_hash(node, result)
    return result
