"""Reading and validating the header of a ``.safetensors`` file without touching its data.

Layout: 8 bytes little-endian header length ``n``, ``n`` bytes of UTF-8 JSON, then the raw
tensor bytes. Only the first ``8 + n`` bytes are read, so a multi-GB file costs at most
``MAX_HEADER_SIZE`` of memory and is safe to inspect in the web process.

Validation mirrors the reference loader (safetensors 0.8) so that a file accepted here also
loads there: known dtypes, byte ranges matching dtype x shape, no overlaps, and by default the
ranges tile the data section exactly with no gaps or trailing bytes.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import BinaryIO, NamedTuple

from repos.weights.bounded_json import JsonRejected, brief_repr, loads_bounded

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

# Bounds on the work a header may cost, beyond its byte size. Real checkpoints hold at most a
# few tens of thousands of tensors per file (sharded MoE models spread ~50k over many files);
# the reference loader has no cap, but 100k tiny entries in 100 MB are a known CPU/RAM DoS.
MAX_TENSORS = 100_000
# A tensor entry is 3 containers and ~5 + rank separators; the slack covers __metadata__.
_JSON_ITEMS_PER_TENSOR = 16
_JSON_ITEMS_SLACK = 65_536
# Entries are 3 levels deep (header, entry, shape); unknown extra fields may nest a little.
MAX_JSON_DEPTH = 64
# The reference computes sizes in usize: an element count or bit count past 2**64 - 1 is an
# overflow there, so it is refused here too, before any arithmetic on user numbers grows.
_USIZE_MAX = 2**64 - 1
# TensorInfo(...) without the generated __new__'s argument handling: the hot path of parsing.
_new_tuple = tuple.__new__


class SafetensorsError(ValueError):
    """The file is not a valid safetensors file; the message says why. Subclasses say which
    family of problem it is; all of them mean "do not trust any byte range of this file"."""


class TruncatedFile(SafetensorsError):
    """The file or stream ends before what its own header (or the caller's size) promises."""


class HeaderLimitExceeded(SafetensorsError):
    """The header exceeds a work bound (size, nesting, values, tensors): hostile or broken."""


class HeaderTooLarge(HeaderLimitExceeded):
    """The 8-byte length prefix announces more than ``max_header_size`` bytes of JSON."""


class MalformedHeader(SafetensorsError):
    """Not UTF-8, not JSON, not an object, a repeated key, or a bad ``__metadata__``."""


class InvalidTensor(SafetensorsError):
    """One tensor entry is wrong: dtype, shape (incl. element-count overflow) or offsets."""

    def __init__(self, tensor: str, message: str) -> None:
        super().__init__(f"tensor {brief_repr(tensor)}: {message}")
        self.tensor = tensor


class InvalidLayout(SafetensorsError):
    """Tensor byte ranges overlap, leave gaps, or do not cover the data section."""


class TensorInfo(NamedTuple):
    """One header entry. Immutable, hashable, compared by value; a named tuple rather than a
    frozen dataclass because one is built per tensor on every header read and a frozen
    dataclass costs ~5x more to construct (~150 us of a 500 us BERT header)."""

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


def read_header(
    f: BinaryIO,
    file_size: int,
    *,
    require_contiguous: bool = True,
    max_header_size: int = MAX_HEADER_SIZE,
    max_tensors: int = MAX_TENSORS,
) -> SafetensorsHeader:
    """Read and validate the header of the safetensors file open in ``f`` (positioned at its
    start) whose total size is ``file_size``. Raises a ``SafetensorsError`` subclass.

    ``require_contiguous=False`` accepts gaps between tensors and trailing bytes, which the
    reference loader rejects; overlaps and out-of-range offsets are always rejected.

    Cost is bounded whatever the input: at most ``8 + max_header_size`` bytes are read, the JSON
    is measured (depth, values) before Python objects are built from it, and per-tensor work
    stops at ``max_tensors`` entries. JSON order of entries does not matter (as in the reference,
    which sorts by offsets).
    """
    raw = read_header_bytes(f, file_size, max_header_size=max_header_size)
    return parse_header(raw, file_size, require_contiguous=require_contiguous, max_tensors=max_tensors)


def read_header_bytes(f: BinaryIO, file_size: int, *, max_header_size: int = MAX_HEADER_SIZE) -> bytes:
    """The raw JSON header of the file open in ``f`` (at its start), length-checked against
    ``max_header_size`` and ``file_size`` but not parsed: the first half of ``read_header``,
    for callers that cache parsed headers by their bytes."""
    if file_size < 8:
        raise TruncatedFile(f"file too small for a safetensors header: {file_size} bytes")
    (n,) = struct.unpack("<Q", _read_exact(f, 8, "header length"))
    if n > max_header_size:
        raise HeaderTooLarge(f"header too large: {n} bytes (limit {max_header_size})")
    if n > file_size - 8:
        raise TruncatedFile(f"header length {n} exceeds the file: only {file_size - 8} bytes follow it")
    if n < 2:
        raise MalformedHeader(f"header too small to be a JSON object: {n} bytes")
    return _read_exact(f, n, "header")


def parse_header(
    raw: bytes, file_size: int, *, require_contiguous: bool = True, max_tensors: int = MAX_TENSORS
) -> SafetensorsHeader:
    """Validate the raw JSON header ``raw`` of a file of ``file_size`` bytes (the second half
    of ``read_header``; the result depends only on these arguments)."""
    n = len(raw)
    if n > file_size - 8:
        raise TruncatedFile(f"header length {n} exceeds the file: only {file_size - 8} bytes follow it")
    # The reference refuses a header whose first non-blank byte is not "{"; checking it first
    # also keeps ``[[[...`` and bare strings away from the JSON parser entirely.
    if raw[:1] != b"{" and raw.lstrip(b" \t\r\n")[:1] != b"{":
        raise MalformedHeader("header is not a JSON object")
    try:
        parsed = loads_bounded(
            raw,
            max_depth=MAX_JSON_DEPTH,
            max_items=_JSON_ITEMS_PER_TENSOR * max_tensors + _JSON_ITEMS_SLACK,
            count_pairs=_header_pairs,
        )
    except JsonRejected as exc:
        if exc.kind in ("depth", "items"):
            raise HeaderLimitExceeded(f"header JSON {exc}") from None
        if exc.kind == "duplicate":
            raise MalformedHeader(f"duplicate key in header: {str(exc).removeprefix('duplicate key ')}") from None
        raise MalformedHeader(f"header is {exc}") from None
    if not isinstance(parsed, dict):
        raise MalformedHeader("header is not a JSON object")

    data_size = file_size - 8 - n
    metadata = _parse_metadata(parsed.pop(_METADATA_KEY, None))
    if len(parsed) > max_tensors:
        raise HeaderLimitExceeded(f"too many tensors: {len(parsed)} (limit {max_tensors})")
    tensors = {name: _parse_tensor(name, value, data_size) for name, value in parsed.items()}
    _check_layout(tensors, data_size, require_contiguous)
    return SafetensorsHeader(metadata=metadata, tensors=tensors, header_length=n)


def _read_exact(f: BinaryIO, n: int, what: str) -> bytes:
    # A single read() may return less on pipes, sockets and some storage backends.
    parts: list[bytes] = []
    remaining = n
    while remaining:
        chunk = f.read(min(remaining, 1024 * 1024))
        if not chunk:
            raise TruncatedFile(f"file truncated while reading the {what}")
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


def _header_pairs(value: object) -> int:
    # Keys of the header object and of its entries (and __metadata__): all the objects of a
    # usual header. See loads_bounded for why counting them proves there are no duplicates.
    if type(value) is not dict:
        return -1
    return len(value) + sum(len(entry) for entry in value.values() if type(entry) is dict)


def _parse_metadata(value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedHeader("__metadata__ must be an object of strings")
    for key, item in value.items():
        if not isinstance(item, str):
            raise MalformedHeader(f"__metadata__[{brief_repr(key)}] must be a string")
    return value


def _parse_tensor(name: str, value: object, data_size: int) -> TensorInfo:
    # Called once per tensor on every header read (page views, diffs): kept lean on purpose.
    if type(value) is not dict:
        raise InvalidTensor(name, "entry must be an object")
    dtype = value.get("dtype")
    shape = value.get("shape")
    offsets = value.get("data_offsets")
    if type(dtype) is not str or dtype not in DTYPE_BITS:
        raise InvalidTensor(name, f"unknown dtype {brief_repr(dtype)}")
    bits = DTYPE_BITS[dtype]
    if type(shape) is not list:
        raise InvalidTensor(name, "shape must be a list of non-negative ints")
    count = 1
    for dim in shape:
        # ``type(...) is int`` refuses bools and floats; JSON numbers are never int subclasses.
        if type(dim) is not int or dim < 0:
            raise InvalidTensor(name, "shape must be a list of non-negative ints")
        if dim > _USIZE_MAX:
            raise InvalidTensor(name, f"shape dimension {dim} does not fit in 64 bits")
        count *= dim
        # Checked after every factor, like the reference's checked_mul: [2**40, 2**40, 0]
        # overflows even though its product is 0, and numbers never grow past 128 bits.
        if count > _USIZE_MAX:
            raise InvalidTensor(name, f"element count of shape {brief_repr(shape)} overflows 64 bits")
    nbits = count * bits
    if nbits > _USIZE_MAX:
        raise InvalidTensor(name, f"size of {dtype} x {brief_repr(shape)} overflows 64 bits")
    if type(offsets) is not list or len(offsets) != 2 or type(offsets[0]) is not int or type(offsets[1]) is not int:
        raise InvalidTensor(name, "data_offsets must be [begin, end] integers")
    begin, end = offsets
    if not 0 <= begin <= end:
        raise InvalidTensor(name, f"invalid data_offsets [{begin}, {end}]")
    if end > data_size:
        raise InvalidTensor(name, f"data_offsets end {end} beyond the data section ({data_size} bytes)")
    if nbits % 8:
        raise InvalidTensor(name, f"{dtype} x {brief_repr(shape)} is not a whole number of bytes")
    if nbits >> 3 != end - begin:
        raise InvalidTensor(
            name, f"{dtype} x {brief_repr(shape)} needs {nbits >> 3} bytes, data_offsets give {end - begin}"
        )
    return _new_tuple(TensorInfo, (dtype, tuple(shape), (begin, end)))


def _check_layout(tensors: Mapping[str, TensorInfo], data_size: int, require_contiguous: bool) -> None:
    position = 0
    previous = ""
    # Sorting by (begin, end) puts empty tensors before a non-empty one at the same offset,
    # so they never count as overlapping it.
    for name, info in sorted(tensors.items(), key=lambda item: item[1].offsets):
        begin, end = info.offsets
        if begin < position:
            raise InvalidLayout(f"tensor {brief_repr(name)} overlaps tensor {brief_repr(previous)}")
        if require_contiguous and begin != position:
            raise InvalidLayout(f"tensor {brief_repr(name)} starts at {begin}, leaving a gap after byte {position}")
        position = end
        previous = name
    if require_contiguous and position != data_size:
        raise InvalidLayout(f"data section has {data_size - position} bytes not covered by any tensor")
