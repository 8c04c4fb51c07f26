"""A symbolic pickle machine: runs the opcodes' stack effects without creating any object.

Why not `pickletools.genops` (what picklescan and the Hub use): genops only lists opcodes, so
a scanner must *guess* the operands of STACK_GLOBAL by looking back at earlier opcodes, which
memo tricks defeat (picklescan issues #14/#22). Here the stack and the memo are simulated with
the exact semantics of CPython 3.11's `_Unpickler` (MARK/metastack, MEMOIZE = `len(memo)`, PUT
overwrites), tracking only "a known short string" versus "some other object". STACK_GLOBAL with
two known strings is an import; with anything else the name was computed at load time, which
only obfuscation needs, so it is reported as an obfuscated (dangerous) import.

Nothing is ever imported, constructed or called; arguments are read as bytes. Byte-string
arguments are themselves parsed (in a window of the same reader, so without copying) to catch
a pickle hidden inside a pickle.

Bounds: stack + memo sizes (`MachineLimits`), nesting depth, and the reader's byte/time budget.
Reaching one raises `LimitExceeded`; malformed input ends the segment with `error` set.
"""

from __future__ import annotations

from safety.budget import LimitExceeded
from safety.scanners.pickles.globals_policy import is_resolvable
from safety.scanners.pickles.opcodes import STARTS, TABLE
from safety.scanners.pickles.reader import ByteReader, EndOfData, LineTooLong, SourceError
from safety.scanners.pickles.segment import (
    HEAD_NESTED,
    IDENTIFIER_LIKE,
    INLINE_NESTED,
    MAX_IMPORT_LINE,
    MAX_NUMBER_LINE,
    OPAQUE,
    PROTO_MAGIC,
    SMALL_ARG,
    Import,
    Item,
    MachineLimits,
    Malformed,
    Segment,
    StopOpcode,
)


class _Memo:
    """The key set of the unpickler's memo (exactly, so MEMOIZE's `len(memo)` is right) and
    the identifier-like strings stored in it. Keys are stored as a dense prefix plus a sparse
    set, so the usual 0, 1, 2... indices cost nothing."""

    __slots__ = ("dense", "sparse", "strings", "limits")

    def __init__(self, limits: MachineLimits) -> None:
        self.dense = 0
        self.sparse: set[int] = set()
        self.strings: dict[int, str] = {}
        self.limits = limits

    def __len__(self) -> int:
        return self.dense + len(self.sparse)

    def put(self, index: int, value: Item) -> None:
        if index == self.dense:
            self.dense += 1
            while self.dense in self.sparse:
                self.sparse.discard(self.dense)
                self.dense += 1
        elif index > self.dense:
            self.sparse.add(index)
            if len(self.sparse) > self.limits.max_memo_sparse:
                raise LimitExceeded("max_memo_sparse", "pickle memo indices too scattered")
        if isinstance(value, str) and len(self.strings) < self.limits.max_memo_strings:
            self.strings[index] = value
        else:
            # An overwrite with a non-string (or past the cap) must forget the old string,
            # else a memo confusion could make us resolve a name the unpickler would not.
            self.strings.pop(index, None)

    def get(self, index: int) -> Item:
        if index < self.dense or index in self.sparse:
            return self.strings.get(index, OPAQUE)
        raise Malformed(f"memo value not found at index {index}")


class PickleMachine:
    """Runs one pickle segment from the reader's position. See the module docstring."""

    def __init__(self, reader: ByteReader, *, limits: MachineLimits, depth: int = 0) -> None:
        self.r = reader
        self.limits = limits
        self.depth = depth
        self.stack: list[Item] = []
        self.metastack: list[list[Item]] = []
        self.below = 0  # items held in metastack
        self.memo = _Memo(limits)
        self.seg = Segment(start=reader.tell())
        self.op_offset = 0

    # -- driver ------------------------------------------------------------------------------
    def run(self) -> Segment:
        seg = self.seg
        r = self.r
        head = r.peek(2)
        seg.started_with_proto = head in PROTO_MAGIC or head in (b"\x80\x00", b"\x80\x01")
        table = TABLE
        count = 0
        try:
            while True:
                self.op_offset = r.tell()
                code = r.read_byte()
                handler = table[code]
                if handler is None:
                    raise Malformed(f"invalid opcode 0x{code:02x} at offset {self.op_offset}")
                handler(self)
                count += 1
                if count & 0xFFF == 0:
                    self._tick()
        except StopOpcode:
            seg.reached_stop = True
            count += 1
            try:
                seg.fills_container = r.at_end()
            except (EndOfData, LimitExceeded):
                seg.fills_container = False
        except SourceError as exc:
            seg.error = f"reading failed at offset {r.tell()}: {exc}"
        except EndOfData:
            seg.error = f"pickle truncated at offset {r.tell()}"
        except LimitExceeded as exc:
            seg.limit = exc
        except LineTooLong:
            seg.error = f"argument line too long at offset {self.op_offset}"
        except Malformed as exc:
            seg.error = str(exc)
        seg.opcodes = count
        return seg

    def _tick(self) -> None:
        if len(self.stack) + self.below > self.limits.max_stack:
            raise LimitExceeded("max_stack", "pickle stack too deep")
        if len(self.metastack) > self.limits.max_stack:
            raise LimitExceeded("max_stack", "too many nested MARKs")
        self.r.check_time()

    # -- stack helpers -------------------------------------------------------------------------
    def pop(self) -> Item:
        if not self.stack:
            raise Malformed(f"stack underflow at offset {self.op_offset}")
        return self.stack.pop()

    def top(self) -> Item:
        if not self.stack:
            raise Malformed(f"stack underflow at offset {self.op_offset}")
        return self.stack[-1]

    def pop_mark(self) -> list[Item]:
        if not self.metastack:
            raise Malformed(f"MARK not found at offset {self.op_offset}")
        items = self.stack
        self.stack = self.metastack.pop()
        self.below -= len(self.stack)
        return items

    def push_str(self, value: str) -> None:
        self.stack.append(value if IDENTIFIER_LIKE.fullmatch(value) else OPAQUE)

    # -- imports ---------------------------------------------------------------------------------
    def add_import(self, module: str, name: str, opcode: str) -> None:
        self.seg.imports.append(Import(module, name, self.op_offset, opcode, is_resolvable(module, name)))

    def read_import_pair(self, encoding: str) -> tuple[str, str]:
        try:
            module = self.r.readline(MAX_IMPORT_LINE).decode(encoding)
            name = self.r.readline(MAX_IMPORT_LINE).decode(encoding)
        except UnicodeDecodeError as exc:
            raise Malformed(f"undecodable import name at offset {self.op_offset}") from exc
        return module, name

    # -- arguments ------------------------------------------------------------------------------
    def u(self, n: int) -> int:
        return int.from_bytes(self.r.read_exact(n), "little")

    def number_line(self) -> bytes:
        return self.r.readline(MAX_NUMBER_LINE)

    def bytes_arg(self, n: int) -> None:
        """A byte-string argument of `n` bytes: parsed as a possible nested pickle in a window
        of the reader (no copy), then skipped."""
        if n < 0:
            raise Malformed(f"negative length at offset {self.op_offset}")
        start = self.r.tell()
        if n >= 3 and self.depth < self.limits.max_depth:
            self.r.push_limit(n)
            try:
                nested = PickleMachine(self.r, limits=self.limits, depth=self.depth + 1).run()
                self._keep_nested(nested, start)
                self.r.skip(self.r.remaining_in_window())
            finally:
                self.r.pop_limit()
        else:
            if n >= 3 and self.r.peek(2) in PROTO_MAGIC:
                self.seg.unscannable.append(
                    f"pickle nested deeper than {self.limits.max_depth} levels at offset {start}")
            self.r.skip(n)

    def text_arg(self, data: bytes, start: int) -> None:
        """Check an in-memory string argument (as the bytes `_codecs.encode(s, "latin1")` would
        give back) for a nested pickle."""
        if len(data) < 3 or self.depth >= self.limits.max_depth or data[0] not in STARTS:
            return
        if data[0] != 0x80 and b"\n" not in data and b"\x93" not in data:
            return  # no PROTO, no GLOBAL/INST line, no STACK_GLOBAL: cannot be a pickle that imports
        nested = PickleMachine(ByteReader.from_bytes(data, self.r.budget), limits=self.limits,
                               depth=self.depth + 1).run()
        self._keep_nested(nested, start)

    def big_text_head(self, head: bytes, start: int) -> None:
        """A string too large to check in memory: only its head is looked at; a pickle header
        there is reported as an unscannable nested pickle."""
        if head[:2] in PROTO_MAGIC:
            self.seg.unscannable.append(
                f"string argument at offset {start} starts like a pickle but is too large to scan")

    def _keep_nested(self, nested: Segment, start: int) -> None:
        if nested.looks_like_pickle:
            nested.start = start
            self.seg.nested.append(nested)
        if nested.limit is not None:
            raise nested.limit

    def unicode_value(self, raw: bytes, start: int) -> None:
        try:
            value = raw.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError as exc:
            raise Malformed(f"undecodable string at offset {self.op_offset}") from exc
        self._text_value(value, start)

    def _text_value(self, value: str, start: int) -> None:
        self.push_str(value)
        try:
            data = value.encode("latin-1")
        except UnicodeEncodeError:
            data = value.encode("utf-8", "surrogatepass")
        self.text_arg(data, start)

    def sized_unicode(self, n: int) -> None:
        start = self.r.tell()
        if n <= INLINE_NESTED:
            self.unicode_value(self.r.read_exact(n), start)
        else:
            self.big_text_head(self.r.peek(HEAD_NESTED), start)
            self.r.skip(n)
            self.stack.append(OPAQUE)

    def sized_bytestring(self, n: int) -> None:
        """BINSTRING/SHORT_BINSTRING: bytes that Python 3 decodes to str by default."""
        if n < 0:
            raise Malformed(f"negative BINSTRING length at offset {self.op_offset}")
        start = self.r.tell()
        if n <= SMALL_ARG:
            data = self.r.read_exact(n)
            self.push_str(data.decode("latin-1"))
            self.text_arg(data, start)
        else:
            self.bytes_arg(n)
            self.stack.append(OPAQUE)


