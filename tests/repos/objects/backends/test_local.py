import hashlib
import io
import os
import stat
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from repos.lfs.errors import InvalidOid, LfsError, LfsObjectNotFound, LfsVerifyError
from repos.objects.backends.local import LocalBackend

DATA = b"hello lfs\n" * 1000
OID = hashlib.sha256(DATA).hexdigest()


def leftovers(store: LocalBackend) -> list[Path]:
    return [p for p in store.tmp_dir.rglob("*") if p.is_file()] if store.tmp_dir.exists() else []


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and ".tmp" not in p.parts]


@pytest.fixture
def store(tmp_path: Path) -> LocalBackend:
    return LocalBackend(tmp_path / "lfs")


def test_layout_and_roundtrip_from_chunks(store: LocalBackend) -> None:
    assert not store.exists(OID)
    assert store.size(OID) is None
    store.write_stream(OID, len(DATA), [DATA[:7], b"", DATA[7:5000], DATA[5000:]])
    path = store.path_for(OID)
    assert path == store.root / OID[:2] / OID[2:4] / OID
    assert store.exists(OID)
    assert store.size(OID) == len(DATA)
    with store.open(OID) as f:
        assert f.read() == DATA
    # Never world-readable: objects of private repos share the directory.
    assert stat.S_IMODE(path.stat().st_mode) & 0o007 == 0
    assert leftovers(store) == []


def test_write_from_file_like(store: LocalBackend) -> None:
    big = os.urandom(3 * 1024 * 1024 + 17)  # several read(1 MiB) calls and a short tail
    oid = hashlib.sha256(big).hexdigest()
    store.write_stream(oid, len(big), io.BytesIO(big))
    assert store.path_for(oid).read_bytes() == big


def test_empty_object(store: LocalBackend) -> None:
    oid = hashlib.sha256(b"").hexdigest()
    store.write_stream(oid, 0, [])
    assert store.size(oid) == 0


def test_sha_mismatch_leaves_nothing(store: LocalBackend) -> None:
    wrong = DATA.replace(b"hello", b"HELLO", 1)
    with pytest.raises(LfsVerifyError, match="sha256 mismatch"):
        store.write_stream(OID, len(wrong), [wrong])
    assert not store.exists(OID)
    assert stored_files(store.root) == []
    assert leftovers(store) == []


def test_short_stream_is_size_mismatch(store: LocalBackend) -> None:
    with pytest.raises(LfsVerifyError, match=f"size mismatch: expected {len(DATA)} got {len(DATA) - 1}$"):
        store.write_stream(OID, len(DATA), [DATA[:-1]])
    assert stored_files(store.root) == [] and leftovers(store) == []


def test_long_stream_is_cut_off(store: LocalBackend) -> None:
    consumed = []

    def endless() -> Iterator[bytes]:
        while True:
            consumed.append(1)
            yield b"x" * 1000

    with pytest.raises(LfsVerifyError, match=r"size mismatch: expected 5000 got at least 6000"):
        store.write_stream(OID, 5000, endless())
    assert len(consumed) == 6  # stopped at the first chunk past the announced size
    assert stored_files(store.root) == [] and leftovers(store) == []


def test_failing_source_cleans_up(store: LocalBackend) -> None:
    def broken() -> Iterator[bytes]:
        yield DATA[:100]
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        store.write_stream(OID, len(DATA), broken())
    assert stored_files(store.root) == [] and leftovers(store) == []


def test_verify_error_is_an_lfs_error() -> None:
    assert issubclass(LfsVerifyError, LfsError)


@pytest.mark.parametrize(
    "oid", ["../../etc/passwd", OID.upper(), OID[:-1], OID + "0", "", "/" + OID[1:], OID[:63] + "g"]
)
def test_invalid_oids_never_become_paths(store: LocalBackend, oid: str) -> None:
    with pytest.raises(InvalidOid):
        store.path_for(oid)
    with pytest.raises(InvalidOid):
        store.write_stream(oid, 1, [b"x"])
    with pytest.raises(InvalidOid):
        store.exists(oid)
    assert not store.root.exists() or stored_files(store.root) == []


def test_bytes_instead_of_chunks_is_a_type_error(store: LocalBackend) -> None:
    with pytest.raises(TypeError):
        store.write_stream(OID, len(DATA), DATA)  # type: ignore[arg-type]
    assert leftovers(store) == []


def test_open_and_delete(store: LocalBackend) -> None:
    with pytest.raises(LfsObjectNotFound):
        store.open(OID)
    assert store.delete(OID) is False
    store.write_stream(OID, len(DATA), [DATA])
    assert store.delete(OID) is True
    assert not store.exists(OID)


def test_rewriting_an_existing_object_is_harmless(store: LocalBackend) -> None:
    store.write_stream(OID, len(DATA), [DATA])
    with store.open(OID) as reader:
        store.write_stream(OID, len(DATA), [DATA])
        assert reader.read() == DATA  # an open reader is unaffected by the replace
    assert store.path_for(OID).read_bytes() == DATA


def test_concurrent_writes_of_the_same_object(store: LocalBackend) -> None:
    payload = os.urandom(2 * 1024 * 1024)
    oid = hashlib.sha256(payload).hexdigest()
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def slow_chunks() -> Iterator[bytes]:
        for i in range(0, len(payload), 256 * 1024):
            time.sleep(0.001)  # interleave the writers
            yield payload[i : i + 256 * 1024]

    def worker() -> None:
        try:
            start.wait()
            store.write_stream(oid, len(payload), slow_chunks())
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.path_for(oid).read_bytes() == payload
    assert leftovers(store) == []


def test_streaming_50mb_keeps_memory_flat(tmp_path: Path) -> None:
    store = LocalBackend(tmp_path / "lfs", tmp_location=tmp_path / "tmp")
    n_chunks, chunk_size = 50, 1024 * 1024

    def chunks() -> Iterator[bytes]:
        for i in range(n_chunks):
            yield bytes([i]) * chunk_size

    digest = hashlib.sha256()
    for chunk in chunks():
        digest.update(chunk)
    oid = digest.hexdigest()

    tracemalloc.start()
    try:
        store.write_stream(oid, n_chunks * chunk_size, chunks())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024
    assert store.size(oid) == n_chunks * chunk_size
    assert list((tmp_path / "tmp").iterdir()) == []


def test_purge_stale_temp(store: LocalBackend) -> None:
    store.tmp_dir.mkdir(parents=True)
    old = store.tmp_dir / "old.part"
    fresh = store.tmp_dir / "fresh.part"
    old.write_bytes(b"x")
    fresh.write_bytes(b"y")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert store.purge_stale_temp(3600) == 1
    assert not old.exists() and fresh.exists()
