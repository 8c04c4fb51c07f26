"""A scanner corpus built in the tests: hostile and benign model files, as bytes.

Every hostile payload, if it ever ran, would create the canary file passed in; the tests
assert it never exists. Payloads are produced by *pickling* objects whose `__reduce__` names a
dangerous callable (pickling records the name, it never calls it) or by writing opcodes by
hand; nothing here unpickles anything.
"""

from __future__ import annotations

import bz2
import gzip
import importlib
import io
import lzma
import os
import pickle
import runpy
import struct
import subprocess
import zipfile
from collections.abc import Callable
from typing import Any


class Reduce:
    """An object that pickles as `func(*args)`."""

    def __init__(self, func: Callable[..., Any], *args: Any) -> None:
        self.func = func
        self.args = args

    def __reduce__(self) -> tuple[Any, ...]:
        return self.func, self.args


def touch(canary: str) -> str:
    return f"touch {canary}"


def payloads(canary: str) -> dict[str, object]:
    """Objects whose unpickling would run code (each would create `canary`)."""
    return {
        "os.system": Reduce(os.system, touch(canary)),
        "subprocess.Popen": Reduce(subprocess.Popen, ["touch", canary]),
        "builtins.eval": Reduce(eval, f"__import__('os').system({touch(canary)!r})"),
        "builtins.exec": Reduce(exec, f"import os; os.system({touch(canary)!r})"),
        "importlib.import_module": Reduce(importlib.import_module, "os"),
        "runpy._run_code": Reduce(runpy._run_code, f"open({canary!r}, 'w')", {}),  # type: ignore[attr-defined]
        "runpy.run_path": Reduce(runpy.run_path, canary),
        "builtins.getattr": Reduce(getattr, Reduce(importlib.import_module, "os"), "system"),
        "pkgutil.resolve_name": Reduce(__import__("pkgutil").resolve_name, "os:system"),
    }


def dumps(obj: object, protocol: int) -> bytes:
    return pickle.dumps(obj, protocol=protocol)


def raw_global(module: str, name: str, arg: str) -> bytes:
    """Protocol 0 by hand: `module.name(arg)` with GLOBAL (the form any old pickle uses)."""
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n(" + _p0_string(arg) + b"tR."


def raw_inst(module: str, name: str, arg: str) -> bytes:
    """Protocol 0 INST: the import and the call in one opcode."""
    return b"(" + _p0_string(arg) + b"i" + module.encode() + b"\n" + name.encode() + b"\n."


def _p0_string(value: str) -> bytes:
    return b"V" + value.encode("raw-unicode-escape") + b"\n"


def _short_unicode(value: str) -> bytes:
    data = value.encode()
    return b"\x8c" + bytes([len(data)]) + data


def computed_stack_global(canary: str) -> bytes:
    """STACK_GLOBAL whose module operand is the *result of a call* (`str("os")`), not a
    string literal: only a stack simulation sees that the import name is computed."""
    return (
        b"\x80\x04"
        + _short_unicode("builtins") + _short_unicode("str") + b"\x93"  # builtins.str
        + _short_unicode("os") + b"\x85R"                               # str("os"): computed
        + _short_unicode("system") + b"\x93"                            # STACK_GLOBAL(<computed>, "system")
        + _short_unicode(touch(canary)) + b"\x85R."
    )


def memo_confusion(canary: str) -> bytes:
    """The memo slot 0 first holds "collections", is then overwritten with "os"; a scanner that
    resolves BINGET by looking back at the first PUT reads `collections.system`."""
    return (
        b"\x80\x04"
        + _short_unicode("collections") + b"q\x00" + b"0"   # memo[0] = "collections"
        + _short_unicode("os") + b"q\x00" + b"0"            # memo[0] = "os" (overwrite)
        + b"h\x00" + _short_unicode("system") + b"\x93"      # STACK_GLOBAL(memo[0], "system")
        + _short_unicode(touch(canary)) + b"\x85R."
    )


def extension_code() -> bytes:
    """EXT1: an import through the copyreg extension registry."""
    return b"\x80\x02\x82\x01)R."


def nested_in_bytes(canary: str) -> bytes:
    """A benign-looking dict whose bytes value is a hostile pickle (loaded later by whoever
    calls pickle.loads on it)."""
    return dumps({"config": {"lr": 0.1}, "blob": dumps(payloads(canary)["os.system"], 4)}, 4)


def nested_load_from_bytes(canary: str) -> bytes:
    """torch's own `_load_from_bytes` gadget, fed a hostile pickle."""
    import torch.storage

    inner = dumps(payloads(canary)["os.system"], 2)
    return dumps(Reduce(torch.storage._load_from_bytes, inner), 2)


def truncated_after_payload(canary: str, protocol: int) -> bytes:
    data = dumps(payloads(canary)["os.system"], protocol)
    return data[:-3]


def torch_zip(state: object, *, legacy: bool = False) -> bytes:
    import torch

    buf = io.BytesIO()
    torch.save(state, buf, _use_new_zipfile_serialization=not legacy)
    return buf.getvalue()


def replace_member(archive: bytes, suffix: str, data: bytes, *, flag_bits: int = 0) -> bytes:
    """Rewrite a zip with the member ending in `suffix` replaced (and optionally its general
    purpose flags altered, e.g. the "encrypted" bit that trips Python's zipfile)."""
    src = zipfile.ZipFile(io.BytesIO(archive))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = data if info.filename.endswith(suffix) else src.read(info.filename)
            dst.writestr(info, body)
    raw = bytearray(out.getvalue())
    if flag_bits:
        _set_flags(raw, suffix, flag_bits)
    return bytes(raw)


def _set_flags(raw: bytearray, suffix: str, flag_bits: int) -> None:
    for sig, flag_at, name_len_at, name_at in ((b"PK\x03\x04", 6, 26, 30), (b"PK\x01\x02", 8, 28, 46)):
        pos = raw.find(sig)
        while pos >= 0:
            (name_len,) = struct.unpack_from("<H", raw, pos + name_len_at)
            name = bytes(raw[pos + name_at:pos + name_at + name_len]).decode()
            if name.endswith(suffix):
                (flags,) = struct.unpack_from("<H", raw, pos + flag_at)
                struct.pack_into("<H", raw, pos + flag_at, flags | flag_bits)
            pos = raw.find(sig, pos + 4)


def rename_local_header(archive: bytes, suffix: str, new_name: str) -> bytes:
    """Give a member's *local* header a different name (same length) than its central
    directory entry (CVE-2025-1944-style): loaders go by the central directory."""
    raw = bytearray(archive)
    pos = raw.find(b"PK\x03\x04")
    while pos >= 0:
        (name_len,) = struct.unpack_from("<H", raw, pos + 26)
        name = bytes(raw[pos + 30:pos + 30 + name_len]).decode()
        if name.endswith(suffix):
            replacement = new_name.encode().ljust(name_len, b"_")[:name_len]
            raw[pos + 30:pos + 30 + name_len] = replacement
        pos = raw.find(b"PK\x03\x04", pos + 4)
    return bytes(raw)


def zip_of(members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


def npy_object_array(obj: object) -> bytes:
    import numpy as np

    arr = np.empty(2, dtype=object)
    arr[0] = obj
    arr[1] = "x"
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "bz2": bz2.compress,
    "xz": lzma.compress,
    "lzma": lambda data: lzma.compress(data, format=lzma.FORMAT_ALONE),
}
