"""Scan one file for pickle content and the globals it would import: `scan_model_file`.

The walk: sniff the bytes (never the name) -> zip (members through the central directory,
recursively), compressed stream (gzip/bz2/xz/lzma/zlib/lz4, as joblib and pandas load them),
npy (its data is a pickle when the dtype holds objects), 7z/tar (unscanned), or anything else,
which is parsed from offset 0 as a pickle because that is what `pickle.load`, `torch.load`'s
legacy path and `numpy.load(allow_pickle=True)` do with it. A stream starting with PROTO is
parsed strictly (any break is an error); other streams count as pickles only with evidence
(`Segment.looks_like_pickle`), so text and tensor data are not mistaken for broken pickles.
Consecutive pickles are all scanned (torch's legacy format holds five), stopping at the first
stretch of non-pickle data.

Each strict pickle of at most `cross_check_bytes` is also given to picklescan; a dangerous
global it reports that the symbolic parse missed is added (a disagreement means one of the
two parsers is wrong, and the verdict takes the worse reading).

Guarantees: nothing is unpickled or imported; bytes and time are bounded by `ScanLimits`
(`max_bytes`, `max_seconds`, depth, archive entries, decompressed sizes); any failure,
including an internal bug, becomes a verdict ("error"/"unscanned"), never an exception.
"""

from __future__ import annotations

import io
import time
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

from repos.objects.crypto.spool import EncryptedSpool
from safety.budget import Budget, Clock, LimitExceeded
from safety.scanners.pickles.archives import (
    DECOMPRESSORS,
    ArchiveError,
    DecompressedStream,
    Unsupported,
    Window,
    descr_has_objects,
    member_data_offset,
    open_seekable,
    read_npy_header,
    read_zip_directory,
    sniff,
)
from safety.scanners.pickles.globals_policy import Safety, classify_global, worst
from safety.scanners.pickles.machine import PickleMachine
from safety.scanners.pickles.reader import ByteReader, EndOfData, Readable
from safety.scanners.pickles.segment import MachineLimits, Segment
from safety.scanners.pickles.verdict import ImportFinding, ModelFileScan, decide_status

_HEAD = 4096
_SPOOL_BUFFER = 1 << 20  # zip reads through a Window are small; each EncryptedSpool read sets up a cipher
_MAX_REASONS = 50


@dataclass(frozen=True)
class ScanLimits:
    """Bounds of one scan. Hitting any of them yields "unscanned" (unless something dangerous
    was already found), never an exception."""

    max_bytes: int = 64 << 30  # bytes pulled from all streams (read, skipped, decompressed)
    max_seconds: float = 600.0
    max_depth: int = 4  # archives in archives, compressed layers, pickles in pickles
    max_archive_members: int = 100_000
    max_central_directory_bytes: int = 64 << 20
    max_member_bytes: int = 16 << 30  # decompressed bytes of one compressed stream
    max_compression_ratio: int = 1_100  # above deflate's physical maximum (~1032): a bomb
    max_spool_bytes: int = 1 << 30  # a compressed zip is copied (encrypted) to disk to be seekable
    max_pickles_per_stream: int = 10_000
    max_stack: int = 1_000_000
    max_memo_strings: int = 2_000_000
    max_reported_imports: int = 1_000
    cross_check_bytes: int = 1 << 20  # picklescan keeps every opcode in memory; 0 disables it


DEFAULT_LIMITS = ScanLimits()


def scan_model_file(fileobj: Readable, *, limits: ScanLimits = DEFAULT_LIMITS, clock: Clock = time.monotonic,
                    spool_dir: str | None = None) -> ModelFileScan:
    """Scan a binary file object (read from its current position) for pickled code.

    `fileobj` needs only `read(n)`; it may be a pipe; seekable files are needed to look inside zip archives without
    copying (non-seekable zips are spooled to `spool_dir`, at most `max_spool_bytes`, encrypted under
    a key held only in memory: no plaintext reaches the disk).
    The file object is read, never closed (its position afterwards is unspecified). Returns a
    verdict; never raises for bad input.
    """
    budget = Budget(max_bytes=limits.max_bytes, max_seconds=limits.max_seconds, clock=clock)
    findings = _Findings(limits)
    walker = _Walker(budget=budget, limits=limits, findings=findings, spool_dir=spool_dir)
    try:
        window = open_seekable(fileobj)
        walker.scan(window if window is not None else fileobj, path="", depth=0)
    except LimitExceeded as exc:
        findings.limit(exc)
    except Exception as exc:  # noqa: BLE001 - a scan error is a verdict, never an exception
        findings.malformed(f"scanner failed: {type(exc).__name__}: {exc}"[:300])
    return findings.verdict(budget.bytes_used)


class _Findings:
    """Everything the walk learned, folded into the verdict at the end."""

    def __init__(self, limits: ScanLimits) -> None:
        self.limits = limits
        self.imports: dict[tuple[str, str], Safety] = {}
        self.dropped = Safety.INNOCUOUS  # the worst level among imports past the report cap
        self.reasons: list[str] = []
        self.formats: list[str] = []
        self.pickle_found = False
        self.is_malformed = False
        self.is_unscanned = False
        self.embedded_code = False
        self.members = 0

    def reason(self, text: str) -> None:
        if len(self.reasons) < _MAX_REASONS:
            self.reasons.append(text)
        elif len(self.reasons) == _MAX_REASONS:
            self.reasons.append("(more reasons omitted)")

    def format(self, kind: str) -> None:
        if kind not in self.formats:
            self.formats.append(kind)

    def add_import(self, module: str, name: str, safety: Safety) -> None:
        key = (module, name)
        if key in self.imports:
            self.imports[key] = worst((self.imports[key], safety))
        elif len(self.imports) < self.limits.max_reported_imports:
            self.imports[key] = safety
        else:
            self.dropped = worst((self.dropped, safety))

    def add_segment(self, seg: Segment, path: str) -> None:
        self.pickle_found = True
        where = path or "file"
        for imp in seg.imports:
            safety = classify_global(imp.module, imp.name)
            self.add_import(imp.module, imp.name, safety)
            if safety is not Safety.INNOCUOUS:
                self.reason(f"{where}: {safety.value} import {imp.module}.{imp.name} "
                            f"({imp.opcode} at offset {imp.offset})")
        for ob in seg.obfuscations:
            self.add_import("<obfuscated>", ob.kind, Safety.DANGEROUS)
            self.reason(f"{where}: {ob.detail} (offset {ob.offset})")
        for nested in seg.nested:
            self.add_import("<nested pickle>", "string or bytes argument", Safety.SUSPICIOUS)
            self.reason(f"{where}: a pickle is hidden in an argument at offset {nested.start}")
            self.add_segment(nested, f"{where}@{nested.start}")
        for text in seg.unscannable:
            self.unscanned(f"{where}: {text}")
        if seg.error:
            self.malformed(f"{where}: {seg.error}")
            if any(i.module == "joblib.numpy_pickle" for i in seg.imports):
                self.reason(f"{where}: joblib writes numpy arrays inside the pickle stream, which cannot be "
                            "skipped without evaluating it; the rest of the file was not scanned")

    def malformed(self, text: str) -> None:
        self.is_malformed = True
        self.reason(text)

    def unscanned(self, text: str) -> None:
        self.is_unscanned = True
        self.reason(text)

    def limit(self, exc: LimitExceeded) -> None:
        self.unscanned(f"scan stopped: {exc}")

    def verdict(self, bytes_read: int) -> ModelFileScan:
        imports = tuple(ImportFinding(m, n, s) for (m, n), s in self.imports.items())
        if self.dropped is not Safety.INNOCUOUS:
            self.reason(f"more imports than reported; the worst of them is {self.dropped.value}")
            imports += (ImportFinding("<more imports>", "not listed", self.dropped),)
        status = decide_status(imports=imports, malformed=self.is_malformed, unscanned=self.is_unscanned,
                               embedded_code=self.embedded_code)
        return ModelFileScan(status=status, pickle_found=self.pickle_found, imports=imports,
                             reasons=tuple(self.reasons), members_scanned=self.members, bytes_read=bytes_read,
                             formats=tuple(self.formats))


class _Prefixed(io.RawIOBase):
    """A non-seekable stream with its already-read head put back in front."""

    def __init__(self, head: bytes, rest: Readable) -> None:
        super().__init__()
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def read(self, n: int | None = -1) -> bytes:
        if self._head:
            if n is None or n < 0:
                n = len(self._head)
            data, self._head = self._head[:n], self._head[n:]
            return data
        return self._rest.read(-1 if n is None else n)


class _Walker:
    def __init__(self, *, budget: Budget, limits: ScanLimits, findings: _Findings, spool_dir: str | None) -> None:
        self.budget = budget
        self.limits = limits
        self.findings = findings
        self.spool_dir = spool_dir
        self.machine_limits = MachineLimits(max_stack=limits.max_stack, max_memo_strings=limits.max_memo_strings,
                                            max_depth=limits.max_depth)

    # -- dispatch --------------------------------------------------------------------------------
    def scan(self, src: Readable, *, path: str, depth: int, strict: bool = False) -> None:
        if depth > self.limits.max_depth:
            self.findings.unscanned(f"{path}: nested more than {self.limits.max_depth} containers deep")
            return
        head = self._head(src)
        kind = sniff(head)
        self.findings.format(kind)
        try:
            if kind == "zip" and isinstance(src, Window):
                self._zip(src, path=path, depth=depth)
            elif kind == "zip":
                # Encrypted on disk (key in this process only): the file may be a private
                # repository's, whose plaintext never touches the disk (issue 12).
                spool = io.BufferedRandom(EncryptedSpool(self.spool_dir, suffix=".zip"), buffer_size=_SPOOL_BUFFER)
                with spool:
                    self._zip(self._spool(head, src, spool), path=path, depth=depth)
            elif kind in DECOMPRESSORS:
                if isinstance(src, Window):
                    src.seek(0)
                rest = src if isinstance(src, Window) else _Prefixed(head, src)
                stream = DecompressedStream(rest, kind, self.budget, cap=self.limits.max_member_bytes,
                                            cap_is_limit=True)
                self.scan(stream, path=f"{path}[{kind}]", depth=depth + 1)
            elif kind in ("7z", "tar"):
                raise Unsupported(f"{kind} archives are not opened by the scanner")
            else:
                reader = self._reader(src, head)
                if kind == "npy":
                    self._npy(reader, path=path, depth=depth)
                else:
                    proto = head[:1] == b"\x80" and len(head) > 1 and head[1] <= 5
                    self._pickles(reader, path=path, depth=depth, strict=strict or proto)
        except ArchiveError as exc:
            self.findings.malformed(f"{path or 'file'}: {exc}")
        except Unsupported as exc:
            self.findings.unscanned(f"{path or 'file'}: {exc}")

    def _head(self, src: Readable) -> bytes:
        """The first bytes, consumed: readers continue after them (`prefix`), containers that
        need the start seek back to it."""
        if isinstance(src, Window):
            src.seek(0)
            head = src.read(_HEAD)
        else:
            parts, got = [], 0
            while got < _HEAD:
                data = src.read(_HEAD - got)
                if not data:
                    break
                parts.append(data)
                got += len(data)
            head = b"".join(parts)
        self.budget.charge(len(head))
        return head

    def _reader(self, src: Readable, head: bytes) -> ByteReader:
        return ByteReader(src, self.budget, prefix=head, size=src.size if isinstance(src, Window) else None)

    def _spool(self, head: bytes, src: Readable, spool: BinaryIO) -> Window:
        """Copy a non-seekable zip to a bounded temporary file so its directory can be read."""
        spool.write(head)
        total = len(head)
        while True:
            data = src.read(1 << 20)
            if not data:
                break
            total += len(data)
            if total > self.limits.max_spool_bytes:
                raise Unsupported(f"zip archive inside a stream is larger than max_spool_bytes "
                                  f"({self.limits.max_spool_bytes})")
            self.budget.charge(len(data))
            spool.write(data)
        spool.seek(0)
        return Window(spool, 0, total)

    # -- pickles ------------------------------------------------------------------------------------
    def _pickles(self, reader: ByteReader, *, path: str, depth: int, strict: bool) -> None:
        first = True
        count = 0
        cap = self.limits.cross_check_bytes
        while first or not reader.at_end():
            capture = bool(cap) and first
            if capture:
                reader.start_capture(cap)
            seg = PickleMachine(reader, limits=self.machine_limits, depth=depth).run()
            captured = reader.stop_capture() if capture else None
            if not (first and strict) and not seg.looks_like_pickle:
                if seg.limit is not None:
                    raise seg.limit  # undecided when the bound hit: that is "unscanned", not "no pickle"
                return  # data, not a pickle: nothing after it is read as one either
            self.findings.add_segment(seg, path)
            if seg.limit is not None:
                raise seg.limit
            if captured is not None:
                self._cross_check(captured, path)
            if seg.error:
                return
            first = False
            count += 1
            if count >= self.limits.max_pickles_per_stream:
                self.findings.unscanned(f"{path or 'file'}: more than {count} consecutive pickles")
                return

    def _cross_check(self, data: bytes, path: str) -> None:
        try:
            from picklescan.scanner import SafetyLevel, scan_pickle_bytes

            result = scan_pickle_bytes(io.BytesIO(data), path or "file", multiple_pickles=False)
        except Exception as exc:  # noqa: BLE001 - the cross-check is advisory
            self.findings.reason(f"{path or 'file'}: picklescan cross-check failed ({type(exc).__name__})")
            return
        for g in result.globals:
            if g.safety != SafetyLevel.Dangerous or "unknown" in (g.module, g.name):
                continue  # "unknown" = a STACK_GLOBAL it could not resolve; ours tracks the memo exactly
            if (g.module, g.name) not in self.findings.imports:
                self.findings.add_import(g.module, g.name, Safety.DANGEROUS)
                self.findings.reason(f"{path or 'file'}: picklescan reports {g.module}.{g.name} as dangerous")

    # -- npy ----------------------------------------------------------------------------------------
    def _npy(self, reader: ByteReader, *, path: str, depth: int) -> None:
        try:
            header = read_npy_header(reader.read_exact)
        except EndOfData as exc:
            raise ArchiveError("npy header truncated") from exc
        if descr_has_objects(header["descr"]):
            self.findings.reason(f"{path or 'file'}: numpy array of Python objects (stored as a pickle)")
            self._pickles(reader, path=f"{path}[npy]", depth=depth, strict=True)

    # -- zip ----------------------------------------------------------------------------------------
    def _zip(self, archive: Window, *, path: str, depth: int) -> None:
        directory = read_zip_directory(archive, archive.size)
        if directory.entries > self.limits.max_archive_members:
            raise LimitExceeded("max_archive_members", f"zip declares {directory.entries} entries")
        if directory.cd_size > self.limits.max_central_directory_bytes:
            raise LimitExceeded("max_central_directory_bytes", f"zip directory of {directory.cd_size} bytes")
        archive.seek(0)
        try:
            infos = zipfile.ZipFile(archive).infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, KeyError) as exc:
            raise ArchiveError(f"unreadable zip directory: {exc}") from exc
        if len(infos) > self.limits.max_archive_members:
            raise LimitExceeded("max_archive_members", f"zip holds {len(infos)} entries")
        spans = []
        for info in infos:
            if info.filename.endswith("/"):
                continue
            try:
                start = member_data_offset(archive, info.header_offset)
            except ArchiveError as exc:
                self.findings.malformed(f"{path}{info.filename}: {exc}")
                continue
            spans.append((start, start + info.compress_size, info))
        spans.sort(key=lambda span: span[0])
        for (_, end, info), (next_start, _, _) in zip(spans, spans[1:], strict=False):
            if end > next_start:
                self.findings.malformed(f"{path}{info.filename}: zip entries overlap (zip bomb pattern)")
                return
        for start, _, info in spans:
            self.budget.check_time()
            self.findings.members += 1
            self._member(archive, start, info, path=path, depth=depth)

    def _member(self, archive: Window, start: int, info: zipfile.ZipInfo, *, path: str, depth: int) -> None:
        name = info.filename
        where = f"{path}{name}" if not path else f"{path}/{name}"
        lowered = name.lower()
        if lowered.endswith(".py") or "/code/" in f"/{lowered}":
            self.findings.embedded_code = True
            self.findings.reason(f"{where}: archive contains code (TorchScript or Python source)")
        if info.compress_size > archive.size - start:
            self.findings.malformed(f"{where}: member extends past the end of the archive")
            return
        window = Window(archive, start, info.compress_size)
        if info.compress_type == zipfile.ZIP_STORED:
            member: Readable = window
        elif info.compress_type in (zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2):
            if info.file_size > self.limits.max_compression_ratio * max(info.compress_size, 1) \
                    and info.file_size > 1 << 20:
                self.findings.malformed(f"{where}: declared compression ratio "
                                        f"{info.file_size // max(info.compress_size, 1)}:1 (zip bomb pattern)")
                return
            kind = "deflate" if info.compress_type == zipfile.ZIP_DEFLATED else "bz2"
            member = DecompressedStream(window, kind, self.budget, cap=info.file_size, cap_is_limit=False)
            if info.file_size > self.limits.max_member_bytes:
                raise LimitExceeded("max_member_bytes", f"{where} declares {info.file_size} bytes")
        else:
            self.findings.unscanned(f"{where}: zip compression method {info.compress_type} is not supported")
            return
        strict = lowered.endswith((".pkl", ".pickle"))
        self.scan(member, path=where, depth=depth + 1, strict=strict)
