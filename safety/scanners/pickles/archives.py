"""Containers a pickle can hide in: content sniffing, zip members, compressed streams, npy.

Everything is decided from bytes, never from a file name (CVE-2025-1889; SECURITY.md a9: both
picklescan and modelscan skipped a pickle named `model.safetensors`). Zip handling follows the
loaders rather than Python's strict reader (CVE-2025-1944/1945): members are located through
the central directory (as torch's miniz does), their data read from the local header's real
offset, encryption flags and CRCs ignored, output capped at the declared size (what zipfile
and miniz deliver). Bomb guards: the central directory's size and entry count are checked
from the end record *before* `zipfile` loads it, declared compression ratios are bounded,
overlapping entries are refused, and every decompressed byte is charged to the budget.
"""

from __future__ import annotations

import bz2
import io
import lzma
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from safety.budget import Budget, LimitExceeded

_CHUNK = 1 << 20


class ArchiveError(Exception):
    """A container is malformed in a way its loader would also refuse (or a scanner must not
    trust): reported as an "error" verdict, never raised to the caller."""


class Unsupported(Exception):
    """A container we cannot look into (7z, tar, an unknown zip compression): "unscanned"."""


class SeekableSource(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...
    def seek(self, offset: int, whence: int = 0, /) -> int: ...
    def tell(self) -> int: ...


# -- sniffing ----------------------------------------------------------------------------------

def sniff(head: bytes) -> str:
    """The container format announced by the first bytes: "zip", "npy", "gzip", "bz2", "xz",
    "lzma", "zlib", "lz4", "7z", "tar", "safetensors", or "other" (which includes pickles,
    whose protocol 0/1 has no magic and is recognised by parsing)."""
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return "zip"
    if head[:6] == b"\x93NUMPY":
        return "npy"
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:3] == b"BZh" and head[4:10] == b"1AY&SY":
        return "bz2"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if head[:2] == b"\x5d\x00":  # LZMA "alone" (joblib's .lzma); "]\x00" cannot start a pickle
        return "lzma"
    if head[:4] == b"\x04\x22\x4d\x18":
        return "lz4"
    if len(head) >= 2 and head[0] == 0x78 and (head[0] * 256 + head[1]) % 31 == 0:
        return "zlib"
    if head[:6] == b"7z\xbc\xaf\x27\x1c":
        return "7z"
    if head[257:262] == b"ustar":
        return "tar"
    if len(head) >= 9:
        header_len = int.from_bytes(head[:8], "little")
        if 2 <= header_len <= 100_000_000 and head[8:9] == b"{":
            return "safetensors"
    return "other"


# -- seekable windows -------------------------------------------------------------------------

class Window(io.RawIOBase):
    """A read-only, seekable view of bytes [start, start + length) of a seekable file.

    Zip members stored without compression, and the top-level file itself, are windows, so a
    zip inside a zip is opened without copying. Several windows share one underlying file:
    each read seeks first, so they never disturb one another.
    """

    def __init__(self, base: SeekableSource, start: int, length: int) -> None:
        super().__init__()
        self._base = base
        self._start = start
        self._length = length
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    @property
    def size(self) -> int:
        return self._length

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._length + offset
        else:
            raise ValueError("invalid whence")
        if pos < 0:
            raise ValueError("negative seek position")
        self._pos = pos
        return pos

    def read(self, n: int | None = -1) -> bytes:
        left = self._length - self._pos
        if left <= 0:
            return b""
        if n is None or n < 0 or n > left:
            n = left
        self._base.seek(self._start + self._pos)
        data = self._base.read(n)
        self._pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


# -- compressed streams -----------------------------------------------------------------------

class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...
    @property
    def needs_input(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...
    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


class _ZlibDecompressor:
    """zlib's object under the bz2/lzma interface (`needs_input`, bounded output)."""

    def __init__(self, wbits: int) -> None:
        self._d = zlib.decompressobj(wbits)

    @property
    def eof(self) -> bool:
        return self._d.eof

    @property
    def needs_input(self) -> bool:
        return not self._d.unconsumed_tail

    @property
    def unused_data(self) -> bytes:
        return self._d.unused_data

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        return self._d.decompress(self._d.unconsumed_tail + data, max(max_length, 0))


def _lz4_factory() -> Callable[[], _Decompressor]:
    try:
        import lz4.frame
    except ImportError as exc:  # pragma: no cover - lz4 is optional
        raise Unsupported("lz4-compressed content (the lz4 package is not installed)") from exc
    return lambda: lz4.frame.LZ4FrameDecompressor()  # type: ignore[no-any-return]


DECOMPRESSORS: dict[str, Callable[[], Callable[[], _Decompressor]]] = {
    "gzip": lambda: lambda: _ZlibDecompressor(31),
    "zlib": lambda: lambda: _ZlibDecompressor(15),
    "deflate": lambda: lambda: _ZlibDecompressor(-15),
    "bz2": lambda: bz2.BZ2Decompressor,
    "xz": lambda: lambda: lzma.LZMADecompressor(lzma.FORMAT_AUTO),
    "lzma": lambda: lambda: lzma.LZMADecompressor(lzma.FORMAT_AUTO),
    "lz4": _lz4_factory,
}
_MULTI_STREAM = {"gzip", "bz2", "xz"}


class DecompressedStream(io.RawIOBase):
    """Decompresses `source` on demand: at most one chunk of output per read.

    Output stops at `cap` bytes: past it, `LimitExceeded` when the cap is the scan's bound
    (`cap_is_limit`), or a clean end when the cap is a zip member's declared size (what the
    loaders deliver). Input bytes are charged to the budget here; output bytes are charged by
    the reader that consumes them.
    """

    def __init__(self, source: Any, kind: str, budget: Budget, *, cap: int, cap_is_limit: bool) -> None:
        super().__init__()
        self._source = source
        self._kind = kind
        self._make = DECOMPRESSORS[kind]()
        self._d = self._make()
        self._budget = budget
        self._cap = cap
        self._cap_is_limit = cap_is_limit
        self._produced = 0
        self._pending = b""
        self._source_eof = False
        self._done = False

    def readable(self) -> bool:
        return True

    def read(self, n: int | None = -1) -> bytes:
        if self._done:
            return b""
        want = _CHUNK if n is None or n < 0 else max(1, min(n, _CHUNK))
        while True:
            if self._d.eof:
                rest = self._d.unused_data
                if self._kind in _MULTI_STREAM and rest.strip(b"\x00"):
                    self._d = self._make()
                    self._pending = rest
                else:
                    self._done = True
                    return b""
            data = b""
            if self._pending:
                data, self._pending = self._pending, b""
            elif self._d.needs_input and not self._source_eof:
                data = self._source.read(_CHUNK)
                if data:
                    self._budget.charge(len(data))
                else:
                    self._source_eof = True
            try:
                out = self._d.decompress(data, want)
            except (OSError, EOFError, ValueError, RuntimeError, zlib.error, lzma.LZMAError) as exc:
                raise ArchiveError(f"corrupt {self._kind} data: {exc}") from exc
            if out:
                return self._emit(out)
            if self._source_eof and not data and not self._d.eof:
                raise ArchiveError(f"truncated {self._kind} stream")

    def _emit(self, out: bytes) -> bytes:
        room = self._cap - self._produced
        if len(out) > room:
            if self._cap_is_limit:
                raise LimitExceeded("max_member_bytes", f"{self._kind} stream decompresses past {self._cap} bytes")
            out = out[:room]
            self._done = True
        self._produced += len(out)
        return out


# -- zip ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ZipDirectory:
    entries: int
    cd_size: int
    cd_offset: int


_EOCD = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")


def read_zip_directory(f: SeekableSource, size: int) -> ZipDirectory:
    """Entry count and central-directory size from the end records (zip64 aware), read in at
    most 64 KiB, so a hostile directory is refused before anything allocates for it."""
    tail_len = min(size, _EOCD.size + 0xFFFF)
    f.seek(size - tail_len)
    tail = f.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + _EOCD.size > len(tail):
        raise ArchiveError("zip end-of-central-directory record not found")
    _, _, _, _, entries, cd_size, cd_offset, _ = _EOCD.unpack_from(tail, at)
    if entries == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
        loc_at = at - _ZIP64_LOCATOR.size
        if loc_at < 0 or tail[loc_at:loc_at + 4] != b"PK\x06\x07":
            raise ArchiveError("zip64 locator missing")
        _, _, eocd64_offset, _ = _ZIP64_LOCATOR.unpack_from(tail, loc_at)
        if eocd64_offset + _ZIP64_EOCD.size > size:
            raise ArchiveError("zip64 end record out of range")
        f.seek(eocd64_offset)
        record = f.read(_ZIP64_EOCD.size)
        if len(record) < _ZIP64_EOCD.size or record[:4] != b"PK\x06\x06":
            raise ArchiveError("zip64 end record malformed")
        fields = _ZIP64_EOCD.unpack(record)
        entries, cd_size, cd_offset = fields[7], fields[8], fields[9]
    return ZipDirectory(entries=entries, cd_size=cd_size, cd_offset=cd_offset)


def member_data_offset(f: SeekableSource, header_offset: int) -> int:
    """Where a member's data starts, from its *local* header (whose name and extra field may
    differ in length from the central directory's: loaders follow the local one)."""
    f.seek(header_offset)
    header = f.read(30)
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise ArchiveError(f"bad local header at offset {header_offset}")
    name_len, extra_len = struct.unpack_from("<HH", header, 26)
    return header_offset + 30 + name_len + extra_len


# -- npy ----------------------------------------------------------------------------------------

_MAX_NPY_HEADER = 1 << 16


def read_npy_header(read_exact: Callable[[int], bytes]) -> dict[str, Any]:
    """Parse a .npy header (`\\x93NUMPY`, version, length, a Python dict literal) without
    numpy. The literal is size- and depth-checked before `ast.literal_eval` sees it."""
    import ast

    magic = read_exact(8)
    if magic[:6] != b"\x93NUMPY":
        raise ArchiveError("not an npy file")
    major = magic[6]
    if major == 1:
        length = int.from_bytes(read_exact(2), "little")
    elif major in (2, 3):
        length = int.from_bytes(read_exact(4), "little")
    else:
        raise ArchiveError(f"unsupported npy version {major}")
    if length > _MAX_NPY_HEADER:
        raise ArchiveError("npy header too large")
    text = read_exact(length).decode("utf-8" if major == 3 else "latin-1")
    depth = deepest = 0
    for ch in text:
        depth += ch in "([{"
        depth -= ch in ")]}"
        deepest = max(deepest, depth)
    if deepest > 16:
        raise ArchiveError("npy header nested too deeply")
    try:
        header = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise ArchiveError("npy header is not a Python literal") from exc
    if not isinstance(header, dict) or "descr" not in header:
        raise ArchiveError("npy header without descr")
    return header


def descr_has_objects(descr: Any, depth: int = 0) -> bool:
    """Whether an npy dtype description contains Python objects (stored as a pickle)."""
    if depth > 16:
        return True
    if isinstance(descr, str):
        return "O" in descr.lstrip("<>|=")
    if isinstance(descr, (list, tuple)):
        for field_spec in descr:
            if isinstance(field_spec, (list, tuple)) and len(field_spec) >= 2:
                if descr_has_objects(field_spec[1], depth + 1):
                    return True
            elif descr_has_objects(field_spec, depth + 1):
                return True
        return False
    return True  # anything else is not a numpy descr; numpy would refuse it, we stay cautious


def open_seekable(fileobj: Any) -> Window | None:
    """A window over the rest of `fileobj` if it can seek, else None."""
    try:
        if not fileobj.seekable():
            return None
        start = fileobj.tell()
        end = fileobj.seek(0, io.SEEK_END)
        fileobj.seek(start)
    except (OSError, AttributeError, ValueError, io.UnsupportedOperation):
        return None
    return Window(fileobj, start, end - start)
