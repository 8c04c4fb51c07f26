"""The encrypted-object format: round trips, ranges against a plain ``BytesIO`` oracle, an
independent decoder of the documented layout, and every tampering we can think of, each of
which must raise a typed ``DecryptionError`` and never yield bytes."""
from __future__ import annotations

import hashlib
import io
import os
import random
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repos.objects.crypto import buffers
from repos.objects.crypto.errors import (
    ChunkAuthenticationError,
    DecryptionError,
    MalformedHeader,
    ObjectLengthMismatch,
    SourceSizeMismatch,
    WrongDataKey,
)
from repos.objects.crypto.format import (
    DEFAULT_CHUNK_SIZE,
    MAGIC,
    EncryptedReader,
    encrypt_stream,
    looks_encrypted,
    open_encrypted,
    open_plaintext,
    plaintext_size,
    read_header,
)
from repos.objects.crypto.keys import DataKey, generate_data_key
from tests.repos.objects.crypto import spec_oracle

CHUNK = 1024  # the smallest chunk the format allows: many chunks from few bytes
OID = "a" * 64
KEY = DataKey(key_id="k1", secret=bytes(range(32)))
MARKER = b"PLAINTEXT-MARKER-7f3a"


def _encrypt(data: bytes, *, key: DataKey = KEY, oid: str = OID, chunk: int = CHUNK) -> bytes:
    out = io.BytesIO()
    result = encrypt_stream(io.BytesIO(data), out, data_key=key, oid=oid, size=len(data), chunk_size=chunk)
    assert result.size == len(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.encrypted_size == len(out.getvalue())
    return out.getvalue()


def _reader(blob: bytes, *, key: DataKey = KEY, oid: str = OID) -> EncryptedReader:
    return EncryptedReader(io.BytesIO(blob), data_key=key, oid=oid)


def _decrypt_all(blob: bytes, *, key: DataKey = KEY, oid: str = OID) -> bytes:
    with _reader(blob, key=key, oid=oid) as r:
        return r.read()


def _data(n: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(n)


SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 17, 7777]


@pytest.mark.parametrize("size", SIZES)
def test_round_trip_matches_plaintext_and_independent_decoder(size):
    data = _data(size, seed=size)
    blob = _encrypt(data)
    assert _decrypt_all(blob) == data
    decoded = spec_oracle.decode(blob, dek=KEY.secret, oid=OID)
    assert decoded.plaintext == data
    chunks = max(1, -(-size // CHUNK))
    assert len(blob) == len(decoded.header) + size + 16 * chunks
    assert plaintext_size(io.BytesIO(blob)) == size


def test_default_chunk_size_round_trip_over_several_chunks():
    data = _data(2 * DEFAULT_CHUNK_SIZE + 5)
    blob = _encrypt(data, chunk=DEFAULT_CHUNK_SIZE)
    assert read_header(io.BytesIO(blob)).chunk_size == DEFAULT_CHUNK_SIZE
    assert spec_oracle.decode(blob, dek=KEY.secret, oid=OID).plaintext == data
    assert _decrypt_all(blob) == data


@pytest.mark.parametrize("pieces", [[b"ab", b"", b"cdefg" * 500, b"h"], [bytes([i]) * 300 for i in range(9)]])
def test_iterable_sources_of_any_piece_size(pieces):
    data = b"".join(pieces)
    out = io.BytesIO()
    result = encrypt_stream(iter(pieces), out, data_key=KEY, oid=OID, size=len(data), chunk_size=CHUNK)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert _decrypt_all(out.getvalue()) == data


def test_source_with_read_only():
    class ReadOnly:
        def __init__(self, data: bytes) -> None:
            self._f = io.BytesIO(data)

        def read(self, n: int = -1) -> bytes:
            return self._f.read(min(n, 100))  # short reads, as a socket gives

    data = _data(5000)
    out = io.BytesIO()
    encrypt_stream(ReadOnly(data), out, data_key=KEY, oid=OID, size=len(data), chunk_size=CHUNK)
    assert _decrypt_all(out.getvalue()) == data


@pytest.mark.parametrize("announced, actual", [(10, 9), (10, 11), (3 * CHUNK, 3 * CHUNK + 1), (0, 1)])
def test_size_mismatch_is_refused(announced, actual):
    with pytest.raises(SourceSizeMismatch):
        encrypt_stream(io.BytesIO(b"x" * actual), io.BytesIO(), data_key=KEY, oid=OID, size=announced,
                       chunk_size=CHUNK)


def test_rejects_bytes_as_source_and_bad_chunk_sizes():
    with pytest.raises(TypeError):
        encrypt_stream(b"abc", io.BytesIO(), data_key=KEY, oid=OID, size=3)  # type: ignore[arg-type]
    for bad in (1000, 512, 1 << 25, 0, -1024):
        with pytest.raises(ValueError):
            encrypt_stream(io.BytesIO(b""), io.BytesIO(), data_key=KEY, oid=OID, size=0, chunk_size=bad)


def test_encrypted_file_holds_no_plaintext_marker():
    data = (MARKER + b" " + _data(300)) * 40 + MARKER
    blob = _encrypt(data)
    assert MARKER not in blob
    assert MARKER[:8] not in blob


def test_same_plaintext_twice_gives_unrelated_ciphertexts():
    data = _data(3000)
    a, b = _encrypt(data), _encrypt(data)
    assert a != b
    da = spec_oracle.decode(a, dek=KEY.secret, oid=OID)
    db = spec_oracle.decode(b, dek=KEY.secret, oid=OID)
    assert da.salt != db.salt and da.object_key != db.object_key


def test_no_key_nonce_pair_repeats_across_many_objects_of_one_data_key():
    # The worst case: one repository key, the same object id and size every time (as a
    # re-encryption job would produce). Every chunk of every object must use a distinct
    # (derived key, nonce) pair, checked through the independent decoder.
    seen: set[tuple[bytes, bytes]] = set()
    data = _data(3 * CHUNK)
    for _ in range(500):
        decoded = spec_oracle.decode(_encrypt(data), dek=KEY.secret, oid=OID)
        for nonce in decoded.nonces:
            pair = (decoded.object_key, nonce)
            assert pair not in seen
            seen.add(pair)
    assert len(seen) == 1500


# ---------------------------------------------------------------- reading: ranges and file protocol


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("seek"), st.integers(0, 9000), st.sampled_from([io.SEEK_SET, io.SEEK_CUR, io.SEEK_END])),
        st.tuples(st.just("read"), st.integers(-1, 4000), st.just(0)),
        st.tuples(st.just("readinto"), st.integers(0, 4000), st.just(0)),
    ),
    max_size=12,
)

_BLOBS: dict[int, tuple[bytes, bytes]] = {}


def _cached_object(size: int) -> tuple[bytes, bytes]:
    if size not in _BLOBS:
        data = _data(size, seed=size)
        _BLOBS[size] = (data, _encrypt(data))
    return _BLOBS[size]


@settings(max_examples=150, deadline=None)
@given(size=st.sampled_from([0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK + 300]), ops=OPS)
def test_any_seek_and_read_sequence_matches_bytesio(size, ops):
    data, blob = _cached_object(size)
    oracle = io.BytesIO(data)
    with _reader(blob) as r:
        for op, arg, whence in ops:
            if op == "seek":
                offset = arg if whence == io.SEEK_SET else arg - 4500
                if (oracle.tell() if whence == io.SEEK_CUR else size if whence == io.SEEK_END else 0) + offset < 0:
                    with pytest.raises(ValueError):
                        r.seek(offset, whence)
                    continue
                assert r.seek(offset, whence) == oracle.seek(offset, whence)
            elif op == "read":
                assert r.read(arg) == oracle.read(arg)
            else:
                mine, theirs = bytearray(arg), bytearray(arg)
                assert r.readinto(mine) == oracle.readinto(theirs)
                assert mine == theirs
            assert r.tell() == oracle.tell()


@settings(max_examples=100, deadline=None)
@given(start=st.integers(0, 5 * CHUNK + 300), length=st.integers(0, 3 * CHUNK))
def test_random_ranges_equal_the_plaintext_slice(start, length):
    data, blob = _cached_object(5 * CHUNK + 300)
    with _reader(blob) as r:
        r.seek(start)
        assert r.read(length) == data[start:start + length]


def test_buffered_wrapper_and_readline_work():
    data = b"line one\nline two\n" + _data(3000) + b"\nlast"
    with _reader(_encrypt(data)) as raw, io.BufferedReader(raw, buffer_size=CHUNK) as f:
        assert f.readline() == b"line one\n"
        assert f.read() == data[9:]


def test_reader_is_a_file_that_refuses_fileno_and_writes():
    with _reader(_encrypt(b"hello")) as r:
        assert r.readable() and r.seekable() and not r.writable()
        with pytest.raises(io.UnsupportedOperation):
            r.fileno()  # a WSGI server must not sendfile the ciphertext
        with pytest.raises(io.UnsupportedOperation):
            r.write(b"x")
        assert r.size == 5
        assert r.seek(0, io.SEEK_END) == 5
    assert r.closed
    with pytest.raises(ValueError):
        r.read()


def test_close_source_flag(tmp_path):
    f = io.BytesIO(_encrypt(b"abc"))
    EncryptedReader(f, data_key=KEY, oid=OID, close_source=False).close()
    assert not f.closed
    EncryptedReader(f, data_key=KEY, oid=OID).close()
    assert f.closed


def test_open_encrypted_looks_the_key_up_by_header_id_and_closes_on_failure(tmp_path, monkeypatch):
    other = generate_data_key()
    path = tmp_path / "obj"
    path.write_bytes(_encrypt(b"payload" * 100, key=other))
    asked: list[str] = []

    def key_for(key_id: str) -> DataKey:
        asked.append(key_id)
        return other

    with open_encrypted(path, oid=OID, key_for=key_for) as r:
        assert r.read() == b"payload" * 100
    assert asked == [other.key_id]

    opened: list[io.RawIOBase] = []
    real_open = open

    def tracking_open(*args, **kwargs):
        f = real_open(*args, **kwargs)
        opened.append(f)
        return f

    monkeypatch.setattr("builtins.open", tracking_open)
    with pytest.raises(WrongDataKey):
        open_encrypted(path, oid=OID, key_for=lambda _id: KEY)
    assert opened and opened[-1].closed


def test_looks_encrypted_and_header_need_no_key():
    blob = _encrypt(_data(2000))
    f = io.BytesIO(blob)
    f.seek(7)
    assert looks_encrypted(f) and f.tell() == 7
    header = read_header(f)
    assert f.tell() == 7
    assert (header.key_id, header.plaintext_size, header.chunk_size) == ("k1", 2000, CHUNK)
    assert not looks_encrypted(io.BytesIO(b"plain file"))
    assert not looks_encrypted(io.BytesIO(b""))


# ---------------------------------------------------------------- tampering and wrong keys


def _must_fail(blob: bytes, *, key: DataKey = KEY, oid: str = OID) -> DecryptionError:
    """Opening and reading the whole object must raise a DecryptionError, never return."""
    with pytest.raises(DecryptionError) as info:
        with _reader(blob, key=key, oid=oid) as r:
            r.read()
    return info.value


def _chunk_bounds(blob: bytes, index: int) -> tuple[int, int]:
    header = read_header(io.BytesIO(blob))
    start = header.chunk_offset(index)
    return start, start + header.chunk_length(index) + 16


TAMPER_DATA = _data(3 * CHUNK + 100, seed=42)
TAMPER_BLOB = _encrypt(TAMPER_DATA)
TAMPER_HEADER_LEN = read_header(io.BytesIO(TAMPER_BLOB)).header_size


@pytest.mark.parametrize("position", range(TAMPER_HEADER_LEN))
def test_any_header_bit_flip_fails(position):
    blob = bytearray(TAMPER_BLOB)
    blob[position] ^= 0x01
    _must_fail(bytes(blob))


@pytest.mark.parametrize("where", ["first ciphertext byte", "last ciphertext byte", "tag"])
@pytest.mark.parametrize("index", range(4))
def test_ciphertext_or_tag_bit_flip_in_any_chunk_fails(where, index):
    start, end = _chunk_bounds(TAMPER_BLOB, index)
    position = {"first ciphertext byte": start, "last ciphertext byte": end - 17, "tag": end - 3}[where]
    blob = bytearray(TAMPER_BLOB)
    blob[position] ^= 0x80
    error = _must_fail(bytes(blob))
    assert isinstance(error, ChunkAuthenticationError)
    assert f"chunk {index}" in str(error)


def test_range_touching_a_tampered_chunk_fails_but_untouched_ranges_read_authentic_bytes():
    start, _end = _chunk_bounds(TAMPER_BLOB, 2)
    blob = bytearray(TAMPER_BLOB)
    blob[start + 5] ^= 0x01
    with _reader(bytes(blob)) as r:
        r.seek(10)
        assert r.read(CHUNK) == TAMPER_DATA[10:10 + CHUNK]
        r.seek(2 * CHUNK - 1)
        with pytest.raises(ChunkAuthenticationError):
            r.read(2)


def test_failed_chunk_leaves_no_unauthenticated_plaintext_in_the_callers_buffer():
    # A flipped tag bit leaves the ciphertext intact: AES-GCM's decrypt_into writes the real
    # plaintext before it checks the tag. The reader must wipe it.
    _start, end = _chunk_bounds(TAMPER_BLOB, 1)
    blob = bytearray(TAMPER_BLOB)
    blob[end - 1] ^= 0x01
    with _reader(bytes(blob)) as r:
        r.seek(CHUNK)
        buf = bytearray(CHUNK)  # exactly chunk 1: decrypted straight into buf
        with pytest.raises(ChunkAuthenticationError):
            r.readinto(buf)
    assert bytes(buf) != TAMPER_DATA[CHUNK:2 * CHUNK]
    assert buf == bytearray(CHUNK)


@pytest.mark.parametrize("cut", [1, 16, 17, 100, CHUNK + 16])
def test_truncation_fails(cut):
    error = _must_fail(TAMPER_BLOB[:-cut])
    assert isinstance(error, ObjectLengthMismatch)


def test_truncation_at_a_chunk_boundary_with_a_matching_header_size_fails():
    # Drop the last chunk and rewrite the size so the length check passes: the header is in
    # every chunk's AAD, and the new last chunk was not sealed as the last.
    start, _ = _chunk_bounds(TAMPER_BLOB, 3)
    blob = bytearray(TAMPER_BLOB[:start])
    blob[10:18] = struct.pack(">Q", 3 * CHUNK)
    assert isinstance(_must_fail(bytes(blob)), ChunkAuthenticationError)


@pytest.mark.parametrize("extra", [b"\x00", b"x" * 16, None])
def test_appending_fails(extra):
    if extra is None:  # a whole copy of the last chunk
        start, end = _chunk_bounds(TAMPER_BLOB, 3)
        extra = TAMPER_BLOB[start:end]
    assert isinstance(_must_fail(TAMPER_BLOB + extra), ObjectLengthMismatch)


def test_appending_a_chunk_and_growing_the_header_size_fails():
    data = _data(2 * CHUNK)
    blob = _encrypt(data)
    start, end = _chunk_bounds(blob, 1)
    grown = bytearray(blob + blob[start:end])
    grown[10:18] = struct.pack(">Q", 3 * CHUNK)
    assert isinstance(_must_fail(bytes(grown)), ChunkAuthenticationError)


@pytest.mark.parametrize("a, b", [(0, 1), (1, 2), (0, 2)])
def test_swapping_two_full_chunks_fails(a, b):
    sa, ea = _chunk_bounds(TAMPER_BLOB, a)
    sb, eb = _chunk_bounds(TAMPER_BLOB, b)
    blob = bytearray(TAMPER_BLOB)
    blob[sa:ea], blob[sb:eb] = TAMPER_BLOB[sb:eb], TAMPER_BLOB[sa:ea]
    assert isinstance(_must_fail(bytes(blob)), ChunkAuthenticationError)


def test_chunk_copied_from_another_object_of_the_same_key_fails():
    other = _encrypt(_data(len(TAMPER_DATA), seed=7))
    s, e = _chunk_bounds(TAMPER_BLOB, 1)
    blob = bytearray(TAMPER_BLOB)
    blob[s:e] = other[s:e]
    assert isinstance(_must_fail(bytes(blob)), ChunkAuthenticationError)


def test_file_swapped_to_another_object_id_fails():
    error = _must_fail(TAMPER_BLOB, oid="b" * 64)
    assert isinstance(error, ChunkAuthenticationError)
    assert "b" * 64 in str(error)


def test_empty_object_is_authenticated_too():
    blob = _encrypt(b"")
    assert _decrypt_all(blob) == b""
    assert isinstance(_must_fail(blob, oid="other"), ChunkAuthenticationError)
    flipped = bytearray(blob)
    flipped[-1] ^= 1
    _must_fail(bytes(flipped))


def test_wrong_key_material_under_the_right_id_is_reported_as_a_wrong_key():
    impostor = DataKey(key_id=KEY.key_id, secret=os.urandom(32))
    error = _must_fail(TAMPER_BLOB, key=impostor)
    assert isinstance(error, WrongDataKey)
    assert "key check" in str(error)


def test_key_with_another_id_is_refused_by_name():
    error = _must_fail(TAMPER_BLOB, key=generate_data_key())
    assert isinstance(error, WrongDataKey)
    assert "k1" in str(error)


def test_header_claiming_the_impostor_key_id_fails():
    # An attacker relabels the file with another key id that the caller then looks up.
    other = DataKey(key_id="k2", secret=KEY.secret)
    blob = bytearray(TAMPER_BLOB)
    blob[67:69] = b"k2"
    error = _must_fail(bytes(blob), key=other)
    assert isinstance(error, ChunkAuthenticationError)


@pytest.mark.parametrize(
    "blob",
    [b"", b"not encrypted at all", MAGIC, MAGIC + b"\x02" + bytes(200), MAGIC + b"\x01\x05" + bytes(200),
     MAGIC + b"\x01\x10" + b"\xff" * 8 + bytes(200), MAGIC + b"\x01\x10" + bytes(56) + b"\x00" + bytes(10),
     MAGIC + b"\x01\x10" + bytes(56) + b"\x41" + bytes(10), MAGIC + b"\x01\x10" + bytes(56) + b"\x02\xff\xfe"],
)
def test_malformed_headers_raise_malformed_header(blob):
    with pytest.raises(MalformedHeader):
        read_header(io.BytesIO(blob))
    with pytest.raises(MalformedHeader):
        _reader(blob)


def test_errors_never_contain_key_material_or_plaintext():
    blob = bytearray(_encrypt(MARKER * 100))
    blob[-1] ^= 1
    error = _must_fail(bytes(blob))
    text = str(error) + repr(error) + repr(KEY)
    assert KEY.secret.hex() not in text and MARKER.decode() not in text


def test_open_plaintext_serves_plain_and_encrypted_files_alike(tmp_path):
    plain, sealed = tmp_path / "plain", tmp_path / "sealed"
    plain.write_bytes(b"\x89MHENC\r\n but actually plain")
    sealed.write_bytes(_encrypt(b"secret bytes"))
    with open_plaintext(sealed, oid=OID, key_for=lambda _id: KEY) as f:
        assert f.seek(0, io.SEEK_END) == 12
        f.seek(7)
        assert f.read() == b"bytes"
    with open_plaintext(plain, oid=OID, key_for=lambda _id: KEY, encrypted=False) as f:
        assert f.read() == b"\x89MHENC\r\n but actually plain"
    with pytest.raises(DecryptionError):
        open_plaintext(plain, oid=OID, key_for=lambda _id: KEY)


def test_reused_buffers_never_leak_an_earlier_objects_bytes():
    big, small = _data(9 * CHUNK, seed=1), _data(CHUNK + 10, seed=2)
    for _ in range(3):
        with _reader(_encrypt(big)) as r:
            assert r.read() == big
            r.seek(5)
            assert r.read(3 * CHUNK) == big[5:5 + 3 * CHUNK]
        with _reader(_encrypt(small)) as r:
            assert r.read(4 * CHUNK) == small
            r.seek(CHUNK - 3)
            buf = bytearray(100)
            assert r.readinto(buf) == 13
            assert buf[:13] == small[CHUNK - 3:] and buf[13:] == bytes(87)
    assert buffers.pooled_bytes() <= 2 * 1024 * 1024


def test_failed_open_leaves_the_callers_file_open_even_after_collection():
    import gc

    blob = bytearray(TAMPER_BLOB)
    blob[-1] ^= 1
    blob[TAMPER_HEADER_LEN] ^= 1  # chunk 0: fails inside the constructor
    f = io.BytesIO(bytes(blob))
    with pytest.raises(ChunkAuthenticationError):
        EncryptedReader(f, data_key=KEY, oid=OID)
    gc.collect()
    assert not f.closed
    assert read_header(f).key_id == KEY.key_id  # still usable by its owner
