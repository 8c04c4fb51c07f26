"""Reading and validating the header of a ``.safetensors`` file without touching its data.

Layout: 8 bytes little-endian header length ``n``, ``n`` bytes of UTF-8 JSON, then the raw
tensor bytes. Only the first ``8 + n`` bytes are read, so a multi-GB file costs at most
``MAX_HEADER_SIZE`` of memory and is safe to inspect in the web process.

Validation mirrors the reference loader (safetensors 0.8) so that a file accepted here also
loads there: known dtypes, byte ranges matching dtype x shape, no overlaps, and by default the
ranges tile the data section exactly with no gaps or trailing bytes.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

# The reference implementation refuses headers over 100 MB; huggingface_hub's client caps at
# 25 MB for remote reads. Anything larger is hostile or broken, never a real model.
MAX_HEADER_SIZE = 100_000_000

# Bits per element, the set the reference loader accepts. Sub-byte types (F4, F6_*) pack
# elements, so byte sizes are computed in bits and must land on a byte boundary.
DTYPE_BITS: Mapping[str, int] = {
    "BOOL": 8,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
    "U8": 8,
    "I8": 8,
    "F8_E5M2": 8,
    "F8_E4M3": 8,
    "F8_E8M0": 8,
    "F8_E4M3FNUZ": 8,
    "F8_E5M2FNUZ": 8,
    "I16": 16,
    "U16": 16,
    "F16": 16,
    "BF16": 16,
    "I32": 32,
    "U32": 32,
    "F32": 32,
    "C64": 64,
    "F64": 64,
    "I64": 64,
    "U64": 64,
}

_METADATA_KEY = "__metadata__"


class SafetensorsError(ValueError):
    """The file is not a valid safetensors file; the message says why."""


@dataclass(frozen=True, slots=True)
class TensorInfo:
    dtype: str
    shape: tuple[int, ...]
    # Byte range relative to the start of the data section (8 + header length).
    offsets: tuple[int, int]

    @property
    def num_elements(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.offsets[1] - self.offsets[0]


@dataclass(frozen=True, slots=True)
class SafetensorsHeader:
    metadata: dict[str, str]
    tensors: dict[str, TensorInfo]
    # Length of the JSON header; tensor data starts at ``data_start``.
    header_length: int = field(default=0)

    @property
    def data_start(self) -> int:
        return 8 + self.header_length

    def parameter_counts(self) -> dict[str, int]:
        """Elements per dtype: the ``safetensors.parameters`` block of HF's model info."""
        counts: dict[str, int] = {}
        for info in self.tensors.values():
            counts[info.dtype] = counts.get(info.dtype, 0) + info.num_elements
        return counts

    @property
    def total_parameters(self) -> int:
        return sum(info.num_elements for info in self.tensors.values())


def read_header(f: BinaryIO, file_size: int, *, require_contiguous: bool = True) -> SafetensorsHeader:
    """Read and validate the header of the safetensors file open in ``f`` (positioned at its
    start) whose total size is ``file_size``. Raises ``SafetensorsError``.

    ``require_contiguous=False`` accepts gaps between tensors and trailing bytes, which the
    reference loader rejects; overlaps and out-of-range offsets are always rejected.
    """
    if file_size < 8:
        raise SafetensorsError(f"file too small for a safetensors header: {file_size} bytes")
    (n,) = struct.unpack("<Q", _read_exact(f, 8, "header length"))
    if n > MAX_HEADER_SIZE:
        raise SafetensorsError(f"header too large: {n} bytes (limit {MAX_HEADER_SIZE})")
    if n > file_size - 8:
        raise SafetensorsError(f"header length {n} exceeds the file: only {file_size - 8} bytes follow it")
    if n < 2:
        raise SafetensorsError(f"header too small to be a JSON object: {n} bytes")
    raw = _read_exact(f, n, "header")
    try:
        parsed = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicate_keys)
    except UnicodeDecodeError as exc:
        raise SafetensorsError(f"header is not valid UTF-8: {exc.reason}") from None
    except json.JSONDecodeError as exc:
        raise SafetensorsError(f"header is not valid JSON: {exc.msg} at byte {exc.pos}") from None
    except _DuplicateKey as exc:
        raise SafetensorsError(f"duplicate key in header: {exc.args[0]!r}") from None
    except RecursionError:
        raise SafetensorsError("header JSON is nested too deeply") from None
    if not isinstance(parsed, dict):
        raise SafetensorsError("header is not a JSON object")

    data_size = file_size - 8 - n
    metadata = _parse_metadata(parsed.pop(_METADATA_KEY, None))
    tensors = {name: _parse_tensor(name, value, data_size) for name, value in parsed.items()}
    _check_layout(tensors, data_size, require_contiguous)
    return SafetensorsHeader(metadata=metadata, tensors=tensors, header_length=n)


class _DuplicateKey(Exception):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads silently keeps the last duplicate; two entries for one tensor name would let
    # this reader and the loader disagree about which bytes a tensor is.
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _read_exact(f: BinaryIO, n: int, what: str) -> bytes:
    # A single read() may return less on pipes, sockets and some storage backends.
    parts: list[bytes] = []
    remaining = n
    while remaining:
        chunk = f.read(min(remaining, 1024 * 1024))
        if not chunk:
            raise SafetensorsError(f"file truncated while reading the {what}")
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


def _parse_metadata(value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SafetensorsError("__metadata__ must be an object of strings")
    for key, item in value.items():
        if not isinstance(item, str):
            raise SafetensorsError(f"__metadata__[{key!r}] must be a string")
    return dict(value)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_tensor(name: str, value: object, data_size: int) -> TensorInfo:
    if not isinstance(value, dict):
        raise SafetensorsError(f"tensor {name!r}: entry must be an object")
    dtype = value.get("dtype")
    shape = value.get("shape")
    offsets = value.get("data_offsets")
    if not isinstance(dtype, str) or dtype not in DTYPE_BITS:
        raise SafetensorsError(f"tensor {name!r}: unknown dtype {dtype!r}")
    if not isinstance(shape, list) or not all(_is_int(d) and d >= 0 for d in shape):
        raise SafetensorsError(f"tensor {name!r}: shape must be a list of non-negative ints")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_int(o) for o in offsets):
        raise SafetensorsError(f"tensor {name!r}: data_offsets must be [begin, end] integers")
    begin, end = offsets
    if not 0 <= begin <= end:
        raise SafetensorsError(f"tensor {name!r}: invalid data_offsets [{begin}, {end}]")
    if end > data_size:
        raise SafetensorsError(f"tensor {name!r}: data_offsets end {end} beyond the data section ({data_size} bytes)")
    bits = math.prod(shape) * DTYPE_BITS[dtype]
    if bits % 8:
        raise SafetensorsError(f"tensor {name!r}: {dtype} x {shape} is not a whole number of bytes")
    if bits // 8 != end - begin:
        raise SafetensorsError(
            f"tensor {name!r}: {dtype} x {shape} needs {bits // 8} bytes, data_offsets give {end - begin}"
        )
    return TensorInfo(dtype=dtype, shape=tuple(shape), offsets=(begin, end))


def _check_layout(tensors: Mapping[str, TensorInfo], data_size: int, require_contiguous: bool) -> None:
    position = 0
    previous = ""
    # Sorting by (begin, end) puts empty tensors before a non-empty one at the same offset,
    # so they never count as overlapping it.
    for name, info in sorted(tensors.items(), key=lambda item: item[1].offsets):
        begin, end = info.offsets
        if begin < position:
            raise SafetensorsError(f"tensor {name!r} overlaps tensor {previous!r}")
        if require_contiguous and begin != position:
            raise SafetensorsError(f"tensor {name!r} starts at {begin}, leaving a gap after byte {position}")
        position = end
        previous = name
    if require_contiguous and position != data_size:
        raise SafetensorsError(f"data section has {data_size - position} bytes not covered by any tensor")
