"""How much one tensor changed, accumulated chunk by chunk over its raw bytes.

Every supported dtype is decoded a chunk at a time into reused buffers (a ``Workspace``), so
memory is bounded by the chunk size whatever the tensor size. Values are worked in float32
where that is exact (f32 itself, used in place; f16, bf16 widened exactly from the top half of
a float32; fp8 through 256-entry tables; 8/16-bit integers and bool) and in float64 otherwise
(f64, 32/64-bit integers, fp8 E8M0); every sum of squares is accumulated in float64.
Differences of integers up to 32 bits are exact, and 64-bit integers get an exact maximum
difference from unsigned arithmetic.

"Changed" is decided on bit patterns: an element changed iff its bytes differ. So -0.0 vs
0.0 counts as a change of size 0, and NaN payload changes count too; a tensor whose bytes
are equal never reaches this module (the diff compares bytes first).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class TensorStats:
    """Change of one tensor present on both sides with the same dtype and shape.

    Norms and the maximum are over finite values only (``l2_old`` over elements finite in the
    old tensor, ``l2_new`` in the new one, ``l2_diff`` and ``max_abs_diff`` over elements finite
    on both sides); ``nonfinite_changed`` counts changed elements where either side is NaN or
    infinite. ``rel_l2 = l2_diff / l2_old``; when ``l2_old == 0`` it is 0.0 if ``l2_diff == 0``
    and None otherwise (an infinite relative change). A None float means "not finite" (e.g.
    a sum of squares past 1e308) or, for dtypes without numeric decoding (F4, F6_*), "not
    computed": then only ``changed_elements`` (changed bytes) is known.
    """

    elements: int
    changed_elements: int
    max_abs_diff: float | int | None
    l2_old: float | None
    l2_new: float | None
    l2_diff: float | None
    rel_l2: float | None
    nonfinite_changed: int = 0
    numeric: bool = True

    @property
    def changed_fraction(self) -> float:
        return self.changed_elements / self.elements if self.elements else 0.0


# Bytes per element of the dtypes decoded here; sub-byte floats (F4, F6_*) are compared as bytes.
ITEMSIZE: dict[str, int] = {
    "BOOL": 1, "U8": 1, "I8": 1,
    "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1, "F8_E4M3FNUZ": 1, "F8_E5M2FNUZ": 1,
    "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4,
    "I64": 8, "U64": 8, "F64": 8, "C64": 8,
}  # fmt: skip

_NATIVE: dict[str, type[np.generic]] = {
    "BOOL": np.uint8, "U8": np.uint8, "I8": np.int8, "I16": np.int16, "U16": np.uint16,
    "I32": np.int32, "U32": np.uint32, "I64": np.int64, "U64": np.uint64,
    "F16": np.float16, "F32": np.float32, "F64": np.float64,
    # complex64 is decoded as interleaved float32 (re, im): norms are the same sums.
    "C64": np.float32,
}  # fmt: skip

_INTEGER = frozenset({"BOOL", "U8", "I8", "I16", "U16", "I32", "U32", "I64", "U64"})
# Dtypes whose values (and differences of two values) are exact in float32 up to rounding of
# the difference itself; the rest are worked in float64. Squares are summed in float64 always.
# (F8_E8M0 spans 2**-127..2**127, past float32's normal range, so it is not one of them.)
_WORK_F32 = frozenset(
    {"F32", "F16", "BF16", "C64", "BOOL", "U8", "I8", "U16", "I16", "F8_E5M2", "F8_E4M3", "F8_E4M3FNUZ", "F8_E5M2FNUZ"}
)
_BITS: dict[int, type[np.generic]] = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}

Work = npt.NDArray[np.floating[Any]]


def _minifloat_table(exp_bits: int, man_bits: int, bias: int, *, kind: str) -> F64:
    """float64 value of every byte of an 8-bit float format.

    ``kind``: "ieee" (all-ones exponent is inf/NaN: E5M2), "fn" (no inf; only all-ones
    exponent and mantissa is NaN: E4M3FN), "fnuz" (no inf, no -0; 0x80 is the only NaN),
    "e8m0" (unsigned powers of two, 0xFF is NaN).
    """
    table = np.empty(256, dtype=np.float64)
    top = (1 << exp_bits) - 1
    for byte in range(256):
        if kind == "e8m0":
            table[byte] = math.nan if byte == 0xFF else math.ldexp(1.0, byte - 127)
            continue
        sign = -1.0 if byte & 0x80 else 1.0
        exponent = (byte >> man_bits) & top
        mantissa = byte & ((1 << man_bits) - 1)
        if kind == "fnuz" and byte == 0x80:
            value = math.nan
        elif kind == "ieee" and exponent == top:
            value = math.nan if mantissa else sign * math.inf
        elif kind == "fn" and exponent == top and mantissa == (1 << man_bits) - 1:
            value = math.nan
        elif exponent == 0:
            value = sign * math.ldexp(mantissa, 1 - bias - man_bits)
        else:
            value = sign * math.ldexp((1 << man_bits) | mantissa, exponent - bias - man_bits)
        table[byte] = value
    return table


FP8_TABLES: dict[str, F64] = {
    "F8_E5M2": _minifloat_table(5, 2, 15, kind="ieee"),
    "F8_E4M3": _minifloat_table(4, 3, 7, kind="fn"),
    "F8_E4M3FNUZ": _minifloat_table(4, 3, 8, kind="fnuz"),
    "F8_E5M2FNUZ": _minifloat_table(5, 2, 16, kind="fnuz"),
    "F8_E8M0": _minifloat_table(8, 0, 127, kind="e8m0"),
}


def is_numeric(dtype: str) -> bool:
    return dtype in ITEMSIZE


class Workspace:
    """Scratch buffers for the accumulators of one diff, reused from tensor to tensor.

    Four buffers of one chunk's values in the work dtype; they grow to the largest need seen
    (float32 chunk: 4 x chunk bytes; fp8 to float64: 32 x) and are then reused: allocating per
    tensor would page-fault through fresh memory again for every changed tensor. One
    workspace per thread.
    """

    def __init__(self, max_chunk_bytes: int) -> None:
        self.max_chunk_bytes = max_chunk_bytes
        self._raw: list[U8] = []

    def buffers(self, work: type[np.floating[Any]], count: int) -> list[Work]:
        size = count * np.dtype(work).itemsize
        if not self._raw or self._raw[0].size < size:
            self._raw = [np.empty(size, dtype=np.uint8) for _ in range(4)]
        return [raw[:size].view(work) for raw in self._raw]


class PairAccumulator:
    """Sums for one (old, new) tensor pair, fed aligned chunks of raw bytes.

    Chunks must hold whole elements and at most ``max_chunk_bytes`` bytes; the work buffers
    (a ``Workspace``, one value per input element) are the only memory that grows with the
    chunk size. Feed ``add_identical`` with byte ranges known equal on both sides (a prefix
    compared before a difference was seen) and ``add`` with the rest.

    Speed matters (this runs over every changed byte): float32 data is used in place, no BLAS
    (its threads fight the read-ahead thread and make sums depend on the thread count), and
    NaN/inf handling costs nothing until a chunk's sums come out non-finite.
    """

    def __init__(self, dtype: str, *, max_chunk_bytes: int, workspace: Workspace | None = None) -> None:
        if dtype not in ITEMSIZE:
            raise ValueError(f"no numeric decoding for {dtype}")
        self.dtype = dtype
        self.itemsize = ITEMSIZE[dtype]
        work: type[np.floating[Any]] = np.float32 if dtype in _WORK_F32 else np.float64
        # Values per element: C64 decodes to two floats.
        capacity = (max_chunk_bytes // self.itemsize) * (2 if dtype == "C64" else 1)
        if workspace is None or workspace.max_chunk_bytes < max_chunk_bytes:
            workspace = Workspace(max_chunk_bytes)
        self._a, self._b, self._d, self._sq = workspace.buffers(work, capacity)
        self._decode = self._decoder(work)
        self._bits = _BITS[self.itemsize]
        self.elements = 0
        self.changed = 0
        self.nonfinite_changed = 0
        self.sum_old = 0.0
        self.sum_new = 0.0
        self.sum_diff = 0.0
        self.max_diff: float = 0.0
        self.max_int_diff = 0  # exact, for 64-bit integers

    def _decoder(self, work: type[np.floating[Any]]) -> Callable[[U8, Work], Work]:
        dtype = self.dtype
        if dtype in FP8_TABLES:
            table = FP8_TABLES[dtype].astype(work)

            def decode_table(raw: U8, out: Work) -> Work:
                target = out[: raw.size]
                np.take(table, raw, out=target)
                return target

            return decode_table
        if dtype == "BF16":

            def decode_bf16(raw: U8, out: Work) -> Work:
                # bf16 is the top half of a float32: widen the bits in place, then view.
                halves = raw.view(np.uint16)
                widened = out[: halves.size].view(np.uint32)
                np.left_shift(halves, 16, out=widened, dtype=np.uint32)
                return out[: halves.size]

            return decode_bf16
        native = _NATIVE[dtype]
        if np.dtype(native) == np.dtype(work):

            def decode_view(raw: U8, out: Work) -> Work:
                return raw.view(native)  # type: ignore[return-value]

            return decode_view

        def decode_native(raw: U8, out: Work) -> Work:
            values = raw.view(native)
            target = out[: values.size]
            np.copyto(target, values, casting="unsafe")
            return target

        return decode_native

    def _sum_squares(self, values: Work) -> float:
        squares = self._sq[: values.size]
        np.square(values, out=squares)
        return float(squares.sum(dtype=np.float64))

    def add_identical(self, raw: U8) -> None:
        """Bytes equal on both sides: they add to both norms and to nothing else."""
        self.elements += raw.size // self.itemsize
        values = self._decode(raw, self._a)
        with np.errstate(over="ignore"):
            total = self._sum_squares(values)
        if not math.isfinite(total):
            wide = values.astype(np.float64)
            finite = wide[np.isfinite(wide)]
            total = float(np.square(finite).sum())
        self.sum_old += total
        self.sum_new += total

    def add(self, raw_a: U8, raw_b: U8) -> None:
        # inf - inf and squares past the work dtype are expected here (handled by _masked).
        with np.errstate(invalid="ignore", over="ignore"):
            self._add(raw_a, raw_b)

    def _add(self, raw_a: U8, raw_b: U8) -> None:
        changed_mask = raw_a.view(self._bits) != raw_b.view(self._bits)
        changed = int(np.count_nonzero(changed_mask))
        if not changed:
            self.add_identical(raw_a)
            return
        self.elements += raw_a.size // self.itemsize
        self.changed += changed
        a = self._decode(raw_a, self._a)
        b = self._decode(raw_b, self._b)
        d = self._d[: a.size]
        np.subtract(b, a, out=d)
        sum_old = self._sum_squares(a)
        sum_new = self._sum_squares(b)
        if self.dtype == "C64":
            squares = self._sq[: d.size]
            np.square(d, out=squares)
            sum_diff = float(squares.sum(dtype=np.float64))
            pairs = squares.reshape(-1, 2)
            largest = math.sqrt(float(np.max(pairs[:, 0].astype(np.float64) + pairs[:, 1])))
        else:
            sum_diff = self._sum_squares(d)
            largest = max(float(d.max()), -float(d.min()))
        if not math.isfinite(sum_old + sum_new + sum_diff + largest):
            # Rare: NaN/inf present, or squares past the work dtype. Redo in float64 with masks.
            sum_old, sum_new, sum_diff, largest = self._masked(a, b, changed_mask)
        self.sum_old += sum_old
        self.sum_new += sum_new
        self.sum_diff += sum_diff
        self.max_diff = max(self.max_diff, largest)
        if self.dtype in ("I64", "U64"):
            self.max_int_diff = max(self.max_int_diff, _exact_max_diff(raw_a, raw_b, self.dtype))

    def _masked(self, a: Work, b: Work, changed_mask: npt.NDArray[np.bool_]) -> tuple[float, float, float, float]:
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        finite_a, finite_b = np.isfinite(a64), np.isfinite(b64)
        both = finite_a & finite_b
        if self.dtype == "C64":
            # An element is finite when both of its parts are.
            element_both = both.reshape(-1, 2).all(axis=1)
            both = np.repeat(element_both, 2)
        else:
            element_both = both
        self.nonfinite_changed += int(np.count_nonzero(changed_mask & ~element_both))
        old, new = a64[finite_a], b64[finite_b]
        diff = b64[both] - a64[both]
        squares = np.square(diff)
        if self.dtype == "C64":
            largest = math.sqrt(float(np.max(squares.reshape(-1, 2).sum(axis=1)))) if squares.size else 0.0
        else:
            largest = float(np.max(np.abs(diff))) if diff.size else 0.0
        return float(np.square(old).sum()), float(np.square(new).sum()), float(squares.sum()), largest

    def finish(self) -> TensorStats:
        l2_old, l2_new, l2_diff = (math.sqrt(s) for s in (self.sum_old, self.sum_new, self.sum_diff))
        if l2_old > 0:
            rel: float | None = l2_diff / l2_old
        else:
            rel = 0.0 if l2_diff == 0 else None
        largest: float | int | None
        if self.dtype in ("I64", "U64"):
            largest = self.max_int_diff
        elif self.dtype in _INTEGER:
            largest = int(self.max_diff)
        else:
            largest = self.max_diff
        return TensorStats(
            elements=self.elements,
            changed_elements=self.changed,
            max_abs_diff=_finite_or_none(largest),
            l2_old=_finite_or_none(l2_old),
            l2_new=_finite_or_none(l2_new),
            l2_diff=_finite_or_none(l2_diff),
            rel_l2=_finite_or_none(rel),
            nonfinite_changed=self.nonfinite_changed,
        )


def _exact_max_diff(raw_a: U8, raw_b: U8, dtype: str) -> int:
    # |b - a| of two 64-bit integers always fits in uint64; unsigned subtraction wraps, so
    # subtracting the smaller from the larger is exact even when int64 would overflow.
    if dtype == "I64":
        a, b = raw_a.view(np.int64), raw_b.view(np.int64)
        ua, ub = a.view(np.uint64), b.view(np.uint64)
        diff = np.where(b >= a, ub - ua, ua - ub)
    else:
        ua, ub = raw_a.view(np.uint64), raw_b.view(np.uint64)
        diff = np.where(ub >= ua, ub - ua, ua - ub)
    return int(diff.max()) if diff.size else 0


def _finite_or_none(value: float | int | None) -> float | int | None:
    if value is None or isinstance(value, int):
        return value
    return value if math.isfinite(value) else None


def count_changed_bytes(raw_a: U8, raw_b: U8) -> int:
    """Changed bytes, the only measure for dtypes without numeric decoding (F4, F6_*)."""
    return int(np.count_nonzero(raw_a != raw_b))
