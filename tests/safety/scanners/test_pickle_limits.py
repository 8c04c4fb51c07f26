"""Hostile containers and bounds: every walker stops at its limit with a verdict (never an
exception, a hang or a RecursionError), and a dangerous find is never lost to a later limit."""

from __future__ import annotations

import bz2
import io
import itertools
import pickle
import struct
import zipfile

from safety.scanners.pickles import ModelFileScan, ScanLimits, scan_model_file
from tests.safety.scanners import pickle_corpus as corpus

EVIL = corpus.dumps(corpus.payloads("/nonexistent/canary")["os.system"], 2)


def scan(data: bytes, **limits: object) -> ModelFileScan:
    return scan_model_file(io.BytesIO(data), limits=ScanLimits(**limits))  # type: ignore[arg-type]


def fake_clock(step: float = 1.0):  # noqa: ANN201 - a zero-argument callable
    ticks = itertools.count()
    return lambda: next(ticks) * step


def test_time_limit_gives_unscanned() -> None:
    data = pickle.dumps(list(range(200_000)), protocol=4)
    result = scan_model_file(io.BytesIO(data), limits=ScanLimits(max_seconds=5), clock=fake_clock())
    assert result.status == "unscanned"
    assert any("max_seconds" in r for r in result.reasons)


def test_dangerous_import_found_before_a_limit_still_counts() -> None:
    data = corpus.dumps([corpus.payloads("/x")["os.system"], list(range(200_000))], 4)
    by_time = scan_model_file(io.BytesIO(data), limits=ScanLimits(max_seconds=5), clock=fake_clock())
    assert by_time.status == "unsafe"
    by_bytes = scan(data, max_bytes=len(data) // 2)
    assert by_bytes.status == "unsafe" and any("max_bytes" in r for r in by_bytes.reasons)


def test_byte_limit_gives_unscanned() -> None:
    result = scan(pickle.dumps(list(range(100_000)), protocol=2), max_bytes=20_000)
    assert result.status == "unscanned"
    assert any("max_bytes" in r for r in result.reasons)


def test_declared_compression_ratio_is_a_bomb() -> None:
    bomb = _zip_with_bz2_member("archive/data.pkl", b"\x00" * (8 << 20))
    result = scan(bomb)
    assert result.status == "error"
    assert any("zip bomb" in r for r in result.reasons)


def _zip_with_bz2_member(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_BZIP2) as z:
        z.writestr(name, data)
    return out.getvalue()


def test_decompressed_member_beyond_cap_is_unscanned() -> None:
    big = pickle.dumps(list(range(50_000)), protocol=2)
    archive = corpus.zip_of({"archive/data.pkl": big}, zipfile.ZIP_DEFLATED)
    assert scan(archive).status == "safe"
    result = scan(archive, max_member_bytes=len(big) // 2)
    assert result.status == "unscanned" and any("max_member_bytes" in r for r in result.reasons)


def test_compressed_stream_beyond_cap_is_unscanned() -> None:
    data = bz2.compress(pickle.dumps(list(range(300_000)), protocol=4))
    result = scan(data, max_member_bytes=100_000)
    assert result.status == "unscanned"


def test_overlapping_zip_entries_are_refused() -> None:
    archive = bytearray(corpus.zip_of({"a.pkl": EVIL, "b.pkl": EVIL}))
    first_cd = archive.find(b"PK\x01\x02")
    second_cd = archive.find(b"PK\x01\x02", first_cd + 4)
    (first_offset,) = struct.unpack_from("<I", archive, first_cd + 42)
    struct.pack_into("<I", archive, second_cd + 42, first_offset)  # b.pkl -> a.pkl's bytes
    result = scan(bytes(archive))
    assert result.status in ("error", "unsafe") and result.status != "safe"
    assert any("overlap" in r for r in result.reasons)


def test_archive_entry_and_directory_bounds() -> None:
    archive = corpus.zip_of({f"m{i}.txt": b"x" for i in range(10)})
    assert scan(archive).status == "safe"
    too_many = scan(archive, max_archive_members=5)
    assert too_many.status == "unscanned" and any("max_archive_members" in r for r in too_many.reasons)
    big_directory = scan(archive, max_central_directory_bytes=100)
    assert big_directory.status == "unscanned"


def test_nesting_depth_is_bounded() -> None:
    data = EVIL
    for level in range(7):
        data = corpus.zip_of({f"level{level}.zip": data})
    result = scan(data, max_depth=4)
    assert result.status == "unscanned"
    assert scan(data, max_depth=8).status == "unsafe"


def test_broken_zip_is_an_error_not_safe() -> None:
    archive = corpus.torch_zip({"w": 1})
    for broken in (archive[: len(archive) // 2], b"PK\x03\x04" + b"\x00" * 100):
        assert scan(broken).status == "error"


def test_unsupported_containers_are_unscanned() -> None:
    seven_zip = b"7z\xbc\xaf\x27\x1c" + b"\x00" * 64
    assert scan(seven_zip).status == "unscanned"
    tar = io.BytesIO()
    import tarfile

    with tarfile.open(fileobj=tar, mode="w") as t:
        info = tarfile.TarInfo("pickle")
        info.size = len(EVIL)
        t.addfile(info, io.BytesIO(EVIL))
    assert scan(tar.getvalue()).status == "unscanned"
    lzma_member = io.BytesIO()
    with zipfile.ZipFile(lzma_member, "w", zipfile.ZIP_LZMA) as z:
        z.writestr("data.pkl", EVIL)
    assert scan(lzma_member.getvalue()).status == "unscanned"


def test_truncated_compressed_stream_is_an_error() -> None:
    import gzip

    data = gzip.compress(pickle.dumps(list(range(10_000)), protocol=4))
    assert scan(data[: len(data) // 2]).status == "error"


def test_deep_marks_and_long_stacks_are_bounded() -> None:
    marks = b"\x80\x04" + b"(" * 200_000 + b"."
    result = scan(marks, max_stack=10_000)
    assert result.status == "unscanned" and any("max_stack" in r for r in result.reasons)
    nones = b"\x80\x04" + b"N" * 200_000 + b"."
    assert scan(nones, max_stack=10_000).status == "unscanned"


def test_hostile_npy_headers() -> None:
    deep = "{'descr': " + "[" * 2000 + "]" * 2000 + ", 'fortran_order': False, 'shape': ()}"
    header = deep.encode()
    npy = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header
    assert scan(npy).status == "error"
    huge = b"\x93NUMPY\x02\x00" + struct.pack("<I", 10 << 20) + b"{"
    assert scan(huge).status == "error"
    assert scan(b"\x93NUMPY\x09\x00").status == "error"


def test_failing_file_object_gives_error() -> None:
    class Flaky(io.BytesIO):
        def read(self, n: int | None = -1) -> bytes:
            if self.tell() > 100:
                raise OSError("disk on fire")
            return super().read(n if n is None or n < 0 else min(n, 64))

    data = pickle.dumps(list(range(10_000)), protocol=4)
    result = scan_model_file(Flaky(data))
    assert result.status == "error"
    assert any("disk on fire" in r for r in result.reasons)


def test_nonseekable_zip_larger_than_spool_is_unscanned() -> None:
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            super().__init__()
            self._f = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def read(self, n: int | None = -1) -> bytes:
            return self._f.read(-1 if n is None else n)

    archive = corpus.zip_of({"data.pkl": EVIL, "pad.bin": b"\x00" * 200_000})
    result = scan_model_file(Pipe(archive), limits=ScanLimits(max_spool_bytes=100_000))  # type: ignore[arg-type]
    assert result.status == "unscanned"


def test_many_consecutive_pickles_are_bounded() -> None:
    data = pickle.dumps(1, protocol=4) * 20
    assert scan(data).status == "safe"
    assert scan(data, max_pickles_per_stream=5).status == "unscanned"


def test_reported_imports_are_capped_but_the_worst_is_kept() -> None:
    class Holder:
        pass

    many = [type(f"C{i}", (Holder,), {"__module__": f"m{i}"}) for i in range(30)]
    body = b"".join(b"c" + cls.__module__.encode() + b"\n" + cls.__name__.encode() + b"\n0" for cls in many)
    data = b"(" + body + b"cos\nsystem\n0" + b"l."
    result = scan(data, max_reported_imports=10)
    assert len(result.imports) == 11  # 10 listed + one "<more imports>" entry carrying the worst level
    assert result.status == "unsafe"


def test_a_zip_inside_a_stream_is_spooled_encrypted_only(tmp_path, monkeypatch) -> None:
    """Issue 12: the one copy the scanner makes (a zip in a gzip stream, copied to be seekable)
    holds no plaintext on disk, looked at (named files and open descriptors) while it is open."""
    import gzip
    import uuid

    from safety.scanners.pickles import scan as scan_module
    from tests.safety.disk import files_holding

    marker = f"NO-PLAINTEXT-{uuid.uuid4().hex}".encode()
    archive = corpus.zip_of({"archive/data.pkl": EVIL + marker, "archive/notes.txt": marker * 100})
    seen: list[tuple[list[str], int]] = []
    walk_zip = scan_module._Walker._zip

    def observed(self, archive_window, *, path, depth):  # noqa: ANN001, ANN202
        spooled = sum(f.stat().st_size for f in tmp_path.rglob("*"))
        seen.append((files_holding(marker, tmp_path), spooled))
        return walk_zip(self, archive_window, path=path, depth=depth)

    monkeypatch.setattr(scan_module._Walker, "_zip", observed)
    result = scan_model_file(io.BytesIO(gzip.compress(archive)), spool_dir=str(tmp_path))  # type: ignore[arg-type]
    assert result.status == "unsafe"  # the zip was opened and its pickle scanned
    [(leaks, spooled)] = seen
    assert leaks == []
    assert spooled == len(archive)  # the spool was on disk when looked at (a named file)
    assert list(tmp_path.iterdir()) == []  # and is gone
