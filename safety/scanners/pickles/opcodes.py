"""Opcode handlers: the stack effect of each pickle opcode, as in CPython 3.11's
`_Unpickler.load_*`, applied to the symbolic machine (see machine.py). Arguments are read and
checked the way the unpickler checks them, so a stream we accept is one it would run up to the
same point; where it would raise, we raise `Malformed`.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from typing import TYPE_CHECKING

from safety.scanners.pickles.segment import (
    HIGHEST_PROTOCOL,
    INLINE_NESTED,
    MAX_IMPORT_LINE,
    OPAQUE,
    Malformed,
    Obfuscation,
    StopOpcode,
)

if TYPE_CHECKING:
    from safety.scanners.pickles.machine import PickleMachine

Handler = Callable[["PickleMachine"], None]

# --- opcode handlers (CPython 3.11 `_Unpickler.load_*` stack effects) -------------------------

def _push_opaque(m: PickleMachine) -> None:
    m.stack.append(OPAQUE)


def _skip(n: int) -> Handler:
    def handler(m: PickleMachine) -> None:
        m.r.skip(n)
        m.stack.append(OPAQUE)
    return handler


def _mark(m: PickleMachine) -> None:
    m.metastack.append(m.stack)
    m.below += len(m.stack)
    m.stack = []


def _stop(m: PickleMachine) -> None:
    m.pop()
    raise StopOpcode


def _pop(m: PickleMachine) -> None:
    if m.stack:
        m.stack.pop()
    else:
        m.pop_mark()


def _pop_mark(m: PickleMachine) -> None:
    m.pop_mark()


def _dup(m: PickleMachine) -> None:
    m.stack.append(m.top())


def _int_line(m: PickleMachine) -> None:
    line = m.number_line()
    if line not in (b"00", b"01"):
        try:
            int(line, 0)
        except ValueError as exc:
            raise Malformed(f"invalid INT literal at offset {m.op_offset}") from exc
    m.stack.append(OPAQUE)


def _long_line(m: PickleMachine) -> None:
    line = m.number_line()
    try:
        int(line[:-1] if line.endswith(b"L") else line, 0)
    except ValueError as exc:
        raise Malformed(f"invalid LONG literal at offset {m.op_offset}") from exc
    m.stack.append(OPAQUE)


def _float_line(m: PickleMachine) -> None:
    try:
        float(m.number_line())
    except ValueError as exc:
        raise Malformed(f"invalid float literal at offset {m.op_offset}") from exc
    m.stack.append(OPAQUE)


def _long1(m: PickleMachine) -> None:
    m.r.skip(m.u(1))
    m.stack.append(OPAQUE)


def _long4(m: PickleMachine) -> None:
    n = int.from_bytes(m.r.read_exact(4), "little", signed=True)
    if n < 0:
        raise Malformed(f"LONG pickle has negative byte count at offset {m.op_offset}")
    m.r.skip(n)
    m.stack.append(OPAQUE)


def _persid(m: PickleMachine) -> None:
    try:
        m.r.readline(MAX_IMPORT_LINE).decode("ascii")
    except UnicodeDecodeError as exc:
        raise Malformed(f"persistent IDs in protocol 0 must be ASCII strings (offset {m.op_offset})") from exc
    m.stack.append(OPAQUE)


def _binpersid(m: PickleMachine) -> None:
    m.pop()
    m.stack.append(OPAQUE)


def _reduce(m: PickleMachine) -> None:
    m.pop()
    m.top()
    m.stack[-1] = OPAQUE


def _string(m: PickleMachine) -> None:
    start = m.r.tell()
    head, total = m.r.readline_head(INLINE_NESTED + 2)
    if total > INLINE_NESTED + 2:
        m.big_text_head(head[1:], start)
        m.stack.append(OPAQUE)
        return
    if len(head) < 2 or head[0] != head[-1] or head[:1] not in (b"'", b'"'):
        raise Malformed(f"the STRING opcode argument must be quoted (offset {m.op_offset})")
    try:
        decoded = codecs.escape_decode(head[1:-1])[0]
    except ValueError as exc:
        raise Malformed(f"invalid STRING escape at offset {m.op_offset}") from exc
    data = decoded if isinstance(decoded, bytes) else decoded.encode("latin-1")
    m.push_str(data.decode("latin-1"))
    m.text_arg(data, start)


def _binstring(m: PickleMachine) -> None:
    m.sized_bytestring(int.from_bytes(m.r.read_exact(4), "little", signed=True))


def _short_binstring(m: PickleMachine) -> None:
    m.sized_bytestring(m.u(1))


def _binbytes(m: PickleMachine) -> None:
    m.bytes_arg(m.u(4))
    m.stack.append(OPAQUE)


def _short_binbytes(m: PickleMachine) -> None:
    m.bytes_arg(m.u(1))
    m.stack.append(OPAQUE)


def _binbytes8(m: PickleMachine) -> None:
    m.bytes_arg(m.u(8))
    m.stack.append(OPAQUE)


def _unicode(m: PickleMachine) -> None:
    start = m.r.tell()
    head, total = m.r.readline_head(INLINE_NESTED)
    if total > INLINE_NESTED:
        m.big_text_head(head, start)
        m.stack.append(OPAQUE)
        return
    try:
        value = head.decode("raw-unicode-escape")
    except UnicodeDecodeError as exc:
        raise Malformed(f"invalid UNICODE argument at offset {m.op_offset}") from exc
    m._text_value(value, start)


def _binunicode(m: PickleMachine) -> None:
    m.sized_unicode(m.u(4))


def _short_binunicode(m: PickleMachine) -> None:
    m.sized_unicode(m.u(1))


def _binunicode8(m: PickleMachine) -> None:
    m.sized_unicode(m.u(8))


def _next_buffer(m: PickleMachine) -> None:
    m.stack.append(OPAQUE)


def _readonly_buffer(m: PickleMachine) -> None:
    m.top()


def _tuple(m: PickleMachine) -> None:
    m.pop_mark()
    m.stack.append(OPAQUE)


def _tuple_n(n: int) -> Handler:
    def handler(m: PickleMachine) -> None:
        for _ in range(n):
            m.pop()
        m.stack.append(OPAQUE)
    return handler


def _list_like(m: PickleMachine) -> None:
    m.pop_mark()
    m.stack.append(OPAQUE)


def _append(m: PickleMachine) -> None:
    m.pop()
    m.top()


def _appends(m: PickleMachine) -> None:
    m.pop_mark()
    m.top()


def _setitem(m: PickleMachine) -> None:
    m.pop()
    m.pop()
    m.top()


def _build(m: PickleMachine) -> None:
    m.pop()
    m.top()


def _global(m: PickleMachine) -> None:
    module, name = m.read_import_pair("utf-8")
    m.add_import(module, name, "GLOBAL")
    m.stack.append(OPAQUE)


def _stack_global(m: PickleMachine) -> None:
    name = m.pop()
    module = m.pop()
    if isinstance(module, str) and isinstance(name, str):
        m.add_import(module, name, "STACK_GLOBAL")
    else:
        m.seg.obfuscations.append(Obfuscation("computed STACK_GLOBAL", m.op_offset,
                                              "import whose module or name is computed at load time"))
    m.stack.append(OPAQUE)


def _inst(m: PickleMachine) -> None:
    module, name = m.read_import_pair("ascii")
    m.add_import(module, name, "INST")
    m.pop_mark()
    m.stack.append(OPAQUE)


def _obj(m: PickleMachine) -> None:
    if not m.pop_mark():
        raise Malformed(f"OBJ without a class at offset {m.op_offset}")
    m.stack.append(OPAQUE)


def _newobj(m: PickleMachine) -> None:
    m.pop()
    m.pop()
    m.stack.append(OPAQUE)


def _newobj_ex(m: PickleMachine) -> None:
    m.pop()
    m.pop()
    m.pop()
    m.stack.append(OPAQUE)


def _ext(n: int) -> Handler:
    def handler(m: PickleMachine) -> None:
        code = m.u(n)
        if code <= 0:
            raise Malformed(f"EXT specifies code <= 0 at offset {m.op_offset}")
        m.seg.obfuscations.append(Obfuscation("extension code", m.op_offset,
                                              f"import through copyreg extension code {code}"))
        m.stack.append(OPAQUE)
    return handler


def _get_line(m: PickleMachine) -> None:
    try:
        index = int(m.number_line())
    except ValueError as exc:
        raise Malformed(f"invalid GET index at offset {m.op_offset}") from exc
    m.stack.append(m.memo.get(index))


def _get_n(n: int) -> Handler:
    def handler(m: PickleMachine) -> None:
        m.stack.append(m.memo.get(m.u(n)))
    return handler


def _put_line(m: PickleMachine) -> None:
    try:
        index = int(m.number_line())
    except ValueError as exc:
        raise Malformed(f"invalid PUT index at offset {m.op_offset}") from exc
    if index < 0:
        raise Malformed(f"negative PUT argument at offset {m.op_offset}")
    m.memo.put(index, m.top())


def _put_n(n: int) -> Handler:
    def handler(m: PickleMachine) -> None:
        index = m.u(n)
        m.memo.put(index, m.top())
    return handler


def _memoize(m: PickleMachine) -> None:
    m.memo.put(len(m.memo), m.top())


def _proto(m: PickleMachine) -> None:
    version = m.u(1)
    if version > HIGHEST_PROTOCOL:
        raise Malformed(f"unsupported pickle protocol: {version}")
    m.seg.protocol = version


def _frame(m: PickleMachine) -> None:
    m.r.read_exact(8)


def _build_table() -> list[Handler | None]:
    table: list[Handler | None] = [None] * 256
    spec: dict[bytes, Handler] = {
        b"(": _mark, b".": _stop, b"0": _pop, b"1": _pop_mark, b"2": _dup,
        b"F": _float_line, b"I": _int_line, b"J": _skip(4), b"K": _skip(1), b"L": _long_line,
        b"M": _skip(2), b"N": _push_opaque, b"P": _persid, b"Q": _binpersid, b"R": _reduce,
        b"S": _string, b"T": _binstring, b"U": _short_binstring, b"V": _unicode, b"X": _binunicode,
        b"a": _append, b"b": _build, b"c": _global, b"d": _list_like, b"}": _push_opaque,
        b"e": _appends, b"g": _get_line, b"h": _get_n(1), b"i": _inst, b"j": _get_n(4),
        b"l": _list_like, b"]": _push_opaque, b"o": _obj, b"p": _put_line, b"q": _put_n(1),
        b"r": _put_n(4), b"s": _setitem, b"t": _tuple, b")": _push_opaque, b"u": _appends,
        b"G": _skip(8),
        b"\x80": _proto, b"\x81": _newobj, b"\x82": _ext(1), b"\x83": _ext(2), b"\x84": _ext(4),
        b"\x85": _tuple_n(1), b"\x86": _tuple_n(2), b"\x87": _tuple_n(3), b"\x88": _push_opaque,
        b"\x89": _push_opaque, b"\x8a": _long1, b"\x8b": _long4,
        b"B": _binbytes, b"C": _short_binbytes,
        b"\x8c": _short_binunicode, b"\x8d": _binunicode8, b"\x8e": _binbytes8, b"\x8f": _push_opaque,
        b"\x90": _appends, b"\x91": _list_like, b"\x92": _newobj_ex, b"\x93": _stack_global,
        b"\x94": _memoize, b"\x95": _frame,
        b"\x96": _binbytes8, b"\x97": _next_buffer, b"\x98": _readonly_buffer,
    }
    for key, handler in spec.items():
        table[key[0]] = handler
    return table


TABLE = _build_table()
# Bytes a pickle can start with; in-memory strings starting otherwise are not parsed.
STARTS = frozenset(i for i, h in enumerate(TABLE) if h is not None)
