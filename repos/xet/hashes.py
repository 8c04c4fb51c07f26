"""Xet hashes: the 32-byte ``MerkleHash`` and every function that produces one.

Everything here mirrors ``xet_core_structures::merklehash`` byte for byte (XET.md §4.1-§4.2); the
tests check the results against ``hf_xet.hash_files``.

Two representations, never mixed up:

* **raw**: the 32 bytes BLAKE3 produced. This is what xorb and shard binaries contain.
* **string**: what URLs, JSON and logs carry. Rust stores the hash as ``[u64; 4]`` (little-endian
  words) and prints each word as 16 hex digits, so every 8-byte group appears *byte-reversed*
  compared with ``raw.hex()``. ``MerkleHash.hex()`` / ``MerkleHash.from_hex()`` do this; never call
  ``bytes.hex()`` on a raw hash for an API answer.

The same convention holds for the sha256 a shard's ``FileMetadataExt`` carries: hf_xet stores the
digest so that the *string* form of those 32 bytes is the ordinary lowercase sha256 hex. So
``MerkleHash.from_hex(sha256_hex)`` gives the shard bytes and ``.hex()`` gives the sha256 back.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import blake3

from .errors import InvalidHashString

HASH_LEN: Final = 32

# Keys of the keyed-BLAKE3 domains (xet_core_structures/src/merklehash/data_hash.rs and
# metadata_shard/chunk_verification.rs). Public constants of the protocol, not secrets.
DATA_KEY: Final = bytes(
    [102, 151, 245, 119, 91, 149, 80, 222, 49, 53, 203, 172, 165, 151, 24, 28,
     157, 228, 33, 16, 155, 235, 43, 88, 180, 208, 176, 75, 147, 173, 242, 41]
)  # fmt: skip
INTERNAL_NODE_KEY: Final = bytes(
    [1, 126, 197, 199, 165, 71, 41, 150, 253, 148, 102, 102, 180, 138, 2, 230,
     93, 221, 83, 111, 55, 199, 109, 210, 248, 99, 82, 230, 74, 83, 113, 63]
)  # fmt: skip
VERIFICATION_KEY: Final = bytes(
    [127, 24, 87, 214, 206, 86, 237, 102, 18, 127, 249, 19, 231, 165, 195, 243,
     164, 205, 38, 213, 181, 219, 73, 230, 65, 36, 152, 127, 40, 251, 148, 195]
)  # fmt: skip
# The file hash is a keyed hash of the Merkle root with an all-zero "salt".
FILE_HASH_KEY: Final = bytes(HASH_LEN)

# Chunks whose hash is 0 modulo this are global-dedup candidates (metadata_shard/constants.rs).
GLOBAL_DEDUP_MODULUS: Final = 1024

_HEX_RE = re.compile(r"[0-9a-f]{64}")
# Merkle tree shape (aggregated_hashes.rs): a node has 2..=9 children; a child whose hash is 0 mod 4
# closes the node early, so the tree depends only on content, not on where an edit happened.
_MERGE_MEAN_BRANCHING: Final = 4
_MERGE_MAX_CHILDREN: Final = 9


@dataclass(frozen=True, slots=True)
class MerkleHash:
    """A 32-byte Xet hash (chunk, xorb, file, verification range, or a shard's sha256).

    Immutable and hashable, so it can key dicts; equality is on the raw bytes.
    """

    raw: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.raw, bytes) or len(self.raw) != HASH_LEN:
            raise TypeError("MerkleHash needs exactly 32 raw bytes")

    @classmethod
    def from_hex(cls, text: str) -> MerkleHash:
        """Parse the API string form (64 lowercase hex, u64 words byte-reversed).

        Strict on purpose: hashes arrive in URL paths and become storage keys, and every client
        prints lowercase.
        """
        if not isinstance(text, str) or _HEX_RE.fullmatch(text) is None:
            raise InvalidHashString("a Xet hash is 64 lowercase hex characters")
        b = bytes.fromhex(text)
        return cls(b"".join(b[i : i + 8][::-1] for i in range(0, HASH_LEN, 8)))

    def hex(self) -> str:
        """The API string form (what ``hf_xet`` prints and sends)."""
        r = self.raw
        return "".join(r[i : i + 8][::-1].hex() for i in range(0, HASH_LEN, 8))

    def __str__(self) -> str:
        return self.hex()

    def __repr__(self) -> str:
        return f"MerkleHash({self.hex()!r})"

    def mod(self, n: int) -> int:
        """``hash % n`` as Rust computes it: on the last u64 word (raw bytes 24..32, LE)."""
        return int.from_bytes(self.raw[24:32], "little") % n

    def truncated(self) -> int:
        """The u64 key of shard lookup tables (raw bytes 0..8, little-endian)."""
        return int.from_bytes(self.raw[0:8], "little")

    @property
    def is_zero(self) -> bool:
        return self.raw == ZERO_HASH.raw


ZERO_HASH: Final = MerkleHash(bytes(HASH_LEN))
# Marks the end of a shard section (file_hash / xorb_hash of all ones).
BOOKEND_HASH: Final = MerkleHash(b"\xff" * HASH_LEN)


def chunk_hash(data: bytes | bytearray | memoryview) -> MerkleHash:
    """Hash of one chunk's uncompressed bytes: BLAKE3 keyed with ``DATA_KEY``."""
    return MerkleHash(blake3.blake3(data, key=DATA_KEY).digest())


def _node_hash(group: Sequence[tuple[MerkleHash, int]]) -> tuple[MerkleHash, int]:
    text = "".join(f"{h.hex()} : {size}\n" for h, size in group)
    return (
        MerkleHash(blake3.blake3(text.encode("ascii"), key=INTERNAL_NODE_KEY).digest()),
        sum(size for _, size in group),
    )


def _next_merge_cut(level: Sequence[tuple[MerkleHash, int]], start: int) -> int:
    """Number of entries from ``start`` that form the next internal node."""
    remaining = len(level) - start
    if remaining <= 2:
        return remaining
    end = min(_MERGE_MAX_CHILDREN, remaining)
    for i in range(2, end):
        if level[start + i][0].mod(_MERGE_MEAN_BRANCHING) == 0:
            return i + 1
    return end


def merkle_root(pairs: Sequence[tuple[MerkleHash, int]]) -> MerkleHash:
    """Root of Xet's content-defined Merkle tree over ``(hash, size)`` pairs.

    One pair is its own root; no pairs give the zero hash. Iterative (one list per level, each at
    most half the previous), so no recursion depth or quadratic cost whatever the input length.
    """
    if not pairs:
        return ZERO_HASH
    level: list[tuple[MerkleHash, int]] = list(pairs)
    while len(level) > 1:
        nxt: list[tuple[MerkleHash, int]] = []
        i = 0
        while i < len(level):
            cut = _next_merge_cut(level, i)
            nxt.append(_node_hash(level[i : i + cut]))
            i += cut
        level = nxt
    return level[0][0]


def xorb_hash(pairs: Sequence[tuple[MerkleHash, int]]) -> MerkleHash:
    """Hash naming a xorb: the Merkle root of its chunks' ``(chunk hash, uncompressed size)``."""
    return merkle_root(pairs)


def file_hash(pairs: Sequence[tuple[MerkleHash, int]]) -> MerkleHash:
    """Hash naming a file: keyed BLAKE3 (all-zero key) of the Merkle root of all its chunks.

    The empty file is the zero hash (no keyed hash is applied), as in hf_xet.
    """
    if not pairs:
        return ZERO_HASH
    return MerkleHash(blake3.blake3(merkle_root(pairs).raw, key=FILE_HASH_KEY).digest())


def verification_range_hash(chunk_hashes: Iterable[MerkleHash]) -> MerkleHash:
    """Proof-of-possession hash of one file segment: keyed BLAKE3 over the raw chunk hashes.

    Only someone who had the bytes (or the server) knows the raw chunk hashes; dedup answers only
    ever carry *keyed* chunk hashes, so a client cannot forge this for data it never had.
    """
    hasher = blake3.blake3(key=VERIFICATION_KEY)
    for h in chunk_hashes:
        hasher.update(h.raw)
    return MerkleHash(hasher.digest())


def keyed_chunk_hash(h: MerkleHash, *, key: bytes) -> MerkleHash:
    """A chunk hash as a global-dedup answer shard carries it: BLAKE3 keyed with ``key``.

    The client keys its own chunk hashes the same way to find matches, so it learns that we
    hold a chunk only if it already has the chunk itself.
    """
    _check_key(key)
    return MerkleHash(blake3.blake3(h.raw, key=key).digest())


def is_global_dedup_eligible(h: MerkleHash) -> bool:
    """Chunks the client may ask ``GET /v1/chunks`` about (besides each file's first chunk)."""
    return h.mod(GLOBAL_DEDUP_MODULUS) == 0


def new_dedup_key() -> bytes:
    """A fresh random key for one dedup answer (the recommended default, XET.md §4.6).

    With a key per answer, two answers cannot even be correlated with each other.
    """
    return secrets.token_bytes(HASH_LEN)


_DEDUP_KEY_CONTEXT: Final = "modelhub 2026 xet global-dedup answer key v1"


def derive_dedup_key(*, secret: bytes, scope: str) -> bytes:
    """A deterministic dedup key for one scope (e.g. ``"repo:<id>:<epoch>"``).

    For callers that want to cache answer shards per repository: the key is unpredictable without
    the hub secret and differs per scope, so keyed hashes in one repository's answers say nothing
    about another's. Rotate by putting an epoch into ``scope``.
    """
    if not secret:
        raise ValueError("an empty secret would make the dedup key public")
    scope_bytes = scope.encode("utf-8")
    material = len(secret).to_bytes(4, "little") + secret + scope_bytes
    return blake3.blake3(material, derive_key_context=_DEDUP_KEY_CONTEXT).digest()


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) != HASH_LEN:
        raise ValueError("a BLAKE3 key is exactly 32 bytes")
