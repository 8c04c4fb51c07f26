from __future__ import annotations

import hashlib
import io
import struct

import blake3
import pytest

from repos.xet.errors import InvalidHashString
from repos.xet.gear_table import GEAR_TABLE, GEAR_TABLE_SHA256
from repos.xet.hashes import (
    DATA_KEY,
    ZERO_HASH,
    MerkleHash,
    chunk_hash,
    derive_dedup_key,
    file_hash,
    is_global_dedup_eligible,
    keyed_chunk_hash,
    merkle_root,
    new_dedup_key,
    verification_range_hash,
    xorb_hash,
)
from repos.xet.shard import read_shard
from repos.xet.xorb import read_xorb
from tests.repos.xet.golden import Golden, golden_files


def test_gear_table_is_the_gearhash_default_table() -> None:
    assert len(GEAR_TABLE) == 256
    assert hashlib.sha256(struct.pack("<256Q", *GEAR_TABLE)).hexdigest() == GEAR_TABLE_SHA256


def test_string_form_reverses_each_u64_word() -> None:
    h = MerkleHash(bytes(range(32)))
    assert h.hex() == "07060504030201000f0e0d0c0b0a090817161514131211101f1e1d1c1b1a1918"
    assert MerkleHash.from_hex(h.hex()) == h
    assert str(h) == h.hex() and h.hex() != h.raw.hex()


@pytest.mark.parametrize("bad", ["", "0" * 63, "0" * 65, "G" * 64, "A" * 64, " " + "0" * 63, None, b"0" * 64])
def test_from_hex_is_strict(bad: object) -> None:
    with pytest.raises(InvalidHashString):
        MerkleHash.from_hex(bad)  # type: ignore[arg-type]


def test_merkle_hash_needs_32_bytes() -> None:
    with pytest.raises(TypeError):
        MerkleHash(b"short")


def test_mod_and_truncation_use_rust_words() -> None:
    raw = (5).to_bytes(8, "little") + bytes(16) + (1024 * 7).to_bytes(8, "little")
    h = MerkleHash(raw)
    assert h.truncated() == 5
    assert h.mod(1024) == 0 and is_global_dedup_eligible(h)
    assert not is_global_dedup_eligible(MerkleHash(bytes(24) + (1).to_bytes(8, "little")))


def test_reference_vector_zero_chunk_file_hash() -> None:
    # xet-core aggregated_hashes.rs test_correctness, quoted in XET.md §4.2.
    assert file_hash([(ZERO_HASH, 0)]).hex() == "638a6bc391964a85939d48f008e8bdbae6a7975e7ca2d87a3ce2492f4e4d8a4c"


def test_empty_and_single_chunk_roots() -> None:
    assert file_hash([]) == ZERO_HASH and xorb_hash([]) == ZERO_HASH
    h = chunk_hash(b"abc")
    assert h.raw == blake3.blake3(b"abc", key=DATA_KEY).digest()
    assert xorb_hash([(h, 3)]) == h  # one chunk is its own root
    assert file_hash([(h, 3)]) != h


def test_merkle_root_depends_on_sizes_and_order() -> None:
    pairs = [(chunk_hash(bytes([i])), i + 1) for i in range(50)]
    root = merkle_root(pairs)
    assert merkle_root(list(reversed(pairs))) != root
    assert merkle_root([*pairs[:-1], (pairs[-1][0], 999)]) != root


def test_merkle_root_of_many_pairs_is_iterative() -> None:
    # 30k leaves: a recursive implementation would be deep; this must just work.
    pairs = [(chunk_hash(i.to_bytes(4, "little")), 65536) for i in range(30_000)]
    assert merkle_root(pairs) != ZERO_HASH


def test_xorb_and_file_hashes_match_the_real_client(golden: Golden) -> None:
    """Our hashes of hf_xet's own xorb/shard agree with the names and claims it sent."""
    info = read_xorb(io.BytesIO(golden.xorb))
    assert info.hash.hex() == golden.xorb_name
    shard = read_shard(io.BytesIO(golden.shard))
    by_hash = {f.file_hash.hex(): f for f in shard.files}
    for name, data in golden_files().items():
        entry = by_hash[golden.files[name]["hash"]]
        pairs = [p for s in entry.segments for p in info.hash_pairs(s.chunk_start, s.chunk_end)]
        assert file_hash(pairs).hex() == golden.files[name]["hash"]
        # sha256 in shard byte order: its string form is the ordinary digest.
        assert entry.sha256 is not None and entry.sha256.hex() == hashlib.sha256(data).hexdigest()
        # The client's proof-of-possession hashes equal ours.
        assert entry.verification == tuple(
            verification_range_hash(info.chunk_hashes(s.chunk_start, s.chunk_end)) for s in entry.segments
        )


def test_keyed_chunk_hash_is_keyed_blake3() -> None:
    key = new_dedup_key()
    h = chunk_hash(b"data")
    assert keyed_chunk_hash(h, key=key).raw == blake3.blake3(h.raw, key=key).digest()
    assert keyed_chunk_hash(h, key=new_dedup_key()) != keyed_chunk_hash(h, key=key)
    with pytest.raises(ValueError):
        keyed_chunk_hash(h, key=b"short")


def test_derived_dedup_keys_differ_per_scope_and_secret() -> None:
    k = derive_dedup_key(secret=b"s1", scope="repo:1:0")
    assert len(k) == 32 and k == derive_dedup_key(secret=b"s1", scope="repo:1:0")
    assert k != derive_dedup_key(secret=b"s1", scope="repo:2:0")
    assert k != derive_dedup_key(secret=b"s2", scope="repo:1:0")
    with pytest.raises(ValueError):
        derive_dedup_key(secret=b"", scope="repo:1:0")
