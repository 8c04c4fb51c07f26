"""The vocabulary shared by the symbolic pickle machine and its opcode handlers: what one
parsed pickle contains (`Segment`), the bounds, and the two values the machine tracks on its
stack (a known short string, or `OPAQUE` for anything else)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from safety.budget import LimitExceeded

PROTO_MAGIC = frozenset({b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05"})
HIGHEST_PROTOCOL = 5

# A string can only name a module or attribute if it looks like a dotted identifier; other
# strings are tracked as opaque, so a STACK_GLOBAL on them counts as "computed".
IDENTIFIER_LIKE = re.compile(r"[\w.]{1,256}")
MAX_IMPORT_LINE = 4096
MAX_NUMBER_LINE = 8192  # CPython refuses int() of more than 4300 digits anyway
SMALL_ARG = 256
INLINE_NESTED = 4 << 20  # str arguments up to this size are checked for a nested pickle in memory
HEAD_NESTED = 64 << 10


class _Opaque:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<opaque>"


OPAQUE = _Opaque()
Item = str | _Opaque


@dataclass(frozen=True)
class MachineLimits:
    max_stack: int = 1_000_000
    max_memo_sparse: int = 1_000_000
    max_memo_strings: int = 2_000_000
    max_depth: int = 4


@dataclass
class Import:
    module: str
    name: str
    offset: int
    opcode: str
    resolvable: bool


@dataclass
class Obfuscation:
    """Something only a hostile pickle does (an import name computed at load time, an import
    through the copyreg extension registry); reported as a dangerous pseudo-import named
    `<obfuscated>.<kind>`."""

    kind: str
    offset: int
    detail: str


@dataclass
class Segment:
    """What one pickle (from its first opcode to STOP, or to the point it broke) contains."""

    start: int
    started_with_proto: bool = False
    protocol: int = 0
    opcodes: int = 0
    reached_stop: bool = False
    error: str | None = None
    imports: list[Import] = field(default_factory=list)
    obfuscations: list[Obfuscation] = field(default_factory=list)
    nested: list[Segment] = field(default_factory=list)
    unscannable: list[str] = field(default_factory=list)
    fills_container: bool = False
    # A bound reached mid-pickle: what was found so far is kept, then the scan stops.
    limit: LimitExceeded | None = None

    @property
    def looks_like_pickle(self) -> bool:
        """Evidence that this is a pickle rather than bytes that happen to parse for a while:
        it imports something importable, or it is a complete pickle that either announces
        itself with PROTO or fills its container exactly ("N." is a pickle; "N.B. see the
        paper" is text). Lenient callers (the sniffer, trailing data, nested arguments)
        discard segments without evidence."""
        if any(i.resolvable for i in self.imports) or self.nested:
            return True
        return self.reached_stop and (self.started_with_proto or self.fills_container)


class StopOpcode(Exception):
    """The STOP opcode: the pickle is complete."""


class Malformed(Exception):
    """The unpickler would raise here: the segment ends with this message as its error."""
