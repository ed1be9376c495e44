"""The Merkle tree against the RFC 6962 / RFC 9162 reference vectors, and its proofs.

The leaves, roots, audit paths and consistency proofs below are the published test data of
transparency-dev/merkle (testonly/constants.go and proof/verify_test.go), copied as data."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hawiya.audit import merkle

LEAF_INPUTS = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
# Root of the tree of the first n leaves, n = 0..8.
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (leaf index, tree size, audit path): verify_test.go's vectors (its leaf numbers are 1-based).
INCLUSION = [
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
# (first size, second size, consistency proof).
CONSISTENCY = [
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]
LEAVES = [merkle.leaf_hash(data) for data in LEAF_INPUTS]


def _flip(node: bytes) -> bytes:
    return bytes([node[0] ^ 8]) + node[1:]


def test_empty_tree_and_leaf_prefix() -> None:
    assert merkle.root([]).hex() == ROOTS[0] == hashlib.sha256(b"").hexdigest()
    assert merkle.leaf_hash(b"").hex() == ROOTS[1]


@pytest.mark.parametrize("size", range(9))
def test_roots_match_the_reference(size: int) -> None:
    assert merkle.root(LEAVES[:size]).hex() == ROOTS[size]


@pytest.mark.parametrize("size", range(9))
def test_frontier_gives_the_same_roots_however_the_leaves_are_batched(size: int) -> None:
    for cut in range(size + 1):
        frontier = merkle.frontier_extend([], 0, LEAVES[:cut])
        frontier = merkle.frontier_extend(frontier, cut, LEAVES[cut:size])
        assert merkle.frontier_root(frontier).hex() == ROOTS[size]
        assert len(frontier) == size.bit_count()


def test_the_split_is_the_largest_power_of_two_below_n() -> None:
    assert [merkle.split_point(n) for n in (2, 3, 4, 5, 6, 7, 8, 9, 1000)] == [1, 2, 2, 4, 4, 4, 4, 8, 512]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_inclusion_paths_match_the_reference_and_verify(index: int, size: int, path: list[str]) -> None:
    computed = merkle.inclusion_path(index, LEAVES[:size])
    assert [node.hex() for node in computed] == path
    root = bytes.fromhex(ROOTS[size])
    merkle.verify_inclusion(LEAVES[index], index, size, computed, root)
    wrong = [
        (LEAVES[index], index + 1, size, computed, root),
        (LEAVES[index], index, size * 2, computed, root),
        (LEAVES[index], index, size, computed, merkle.EMPTY_ROOT),
        (merkle.leaf_hash(b"WrongLeaf"), index, size, computed, root),
        (LEAVES[index], index, size, [*computed, root], root),
        (LEAVES[index], index, size, computed[:-1], root),
        *[
            (LEAVES[index], index, size, [*computed[:i], _flip(computed[i]), *computed[i + 1 :]], root)
            for i in range(len(computed))
        ],
    ]
    if index:
        wrong.append((LEAVES[index], index - 1, size, computed, root))
    for leaf, bad_index, bad_size, bad_path, bad_root in wrong:
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(leaf, bad_index, bad_size, bad_path, bad_root)


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY)
def test_consistency_proofs_match_the_reference_and_verify(first: int, second: int, proof: list[str]) -> None:
    computed = merkle.consistency_proof(first, LEAVES[:second])
    assert [node.hex() for node in computed] == proof
    root1, root2 = bytes.fromhex(ROOTS[first]), bytes.fromhex(ROOTS[second])
    merkle.verify_consistency(first, second, root1, root2, computed)
    wrong = [
        (first - 1, second, root1, root2, computed),
        (first + 1, second, root1, root2, computed),
        (first, second * 2, root1, root2, computed),
        (first, second, root2, root1, computed),
        (first, second, merkle.EMPTY_ROOT, root2, computed),
        (first, second, root1, root2, []),
        (first, second, root1, root2, [*computed, root1]),
        (first, second, root1, root2, computed[:-1]),
        *[
            (first, second, root1, root2, [*computed[:i], _flip(computed[i]), *computed[i + 1 :]])
            for i in range(len(computed))
        ],
    ]
    for bad in wrong:
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(*bad)


def test_consistency_edge_cases() -> None:
    root = bytes.fromhex(ROOTS[3])
    merkle.verify_consistency(3, 3, root, root, [])
    merkle.verify_consistency(0, 3, merkle.EMPTY_ROOT, root, [])
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(3, 3, root, merkle.EMPTY_ROOT, [])
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(4, 3, root, root, [])


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=70), st.data())
def test_every_proof_in_any_tree_verifies_and_a_changed_one_does_not(size: int, data: st.DataObject) -> None:
    leaves = [merkle.leaf_hash(i.to_bytes(2, "big")) for i in range(size)]
    tree = merkle.Tree(leaves)
    root = tree.root()
    assert root == merkle.frontier_root(merkle.frontier_extend([], 0, leaves))
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    path = tree.inclusion_path(index)
    merkle.verify_inclusion(leaves[index], index, size, path, root)
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(
            leaves[(index + 1) % size] if size > 1 else b"x" * 32, index, size, path, root
        )
    first = data.draw(st.integers(min_value=1, max_value=size))
    proof = tree.consistency_proof(first)
    merkle.verify_consistency(first, size, tree.root(first), root, proof)
    if first < size:
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(first, size, tree.root(first), tree.root(size - 1), proof)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=300), st.integers(min_value=1, max_value=80), st.data())
def test_a_frontier_tree_gives_the_same_paths_as_the_whole_tree(
    prior: int, batch: int, data: st.DataObject
) -> None:
    """A proof built from the previous seal's frontier and one batch equals the one built from
    every leaf, for any leaf of the batch (merkle.FrontierTree)."""
    leaves = [merkle.leaf_hash(i.to_bytes(2, "big")) for i in range(prior + batch)]
    whole = merkle.Tree(leaves)
    frontier = merkle.frontier_extend([], 0, leaves[:prior])
    partial = merkle.FrontierTree(frontier, prior, leaves[prior:])
    assert len(partial) == prior + batch
    assert partial.root() == whole.root()
    # Its frontier is the one the sealer keeps, and the consistency proof from the prior head is
    # the whole tree's (what audit_verify checks with one batch in memory).
    assert partial.frontier() == merkle.frontier_extend([], 0, leaves)
    if prior:
        assert partial.consistency_proof(prior) == whole.consistency_proof(prior)
    index = data.draw(st.integers(min_value=prior, max_value=prior + batch - 1))
    assert partial.inclusion_path(index) == whole.inclusion_path(index)
    if prior:
        with pytest.raises(ValueError, match="inside the frontier"):
            partial.inclusion_path(data.draw(st.integers(min_value=0, max_value=prior - 1)))
