import io
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import save_file

from repos.weights.safetensors_header import (
    MAX_HEADER_SIZE,
    MAX_TENSORS,
    HeaderLimitExceeded,
    HeaderTooLarge,
    InvalidLayout,
    InvalidTensor,
    MalformedHeader,
    SafetensorsError,
    SafetensorsHeader,
    TensorInfo,
    TruncatedFile,
    parse_header,
    read_header,
    read_header_bytes,
)
from tests.repos.weights.builders import build


def read_path(path: Path, **kwargs: Any) -> SafetensorsHeader:
    with path.open("rb") as f:
        return read_header(f, path.stat().st_size, **kwargs)


def reference_accepts(path: Path) -> bool:
    try:
        with safe_open(str(path), "np"):
            return True
    except Exception:
        return False


def test_real_file_written_by_safetensors(tmp_path: Path) -> None:
    tensors: dict[str, np.ndarray] = {
        "embed.weight": np.arange(12, dtype=np.float32).reshape(3, 4),
        "layer.bias": np.zeros(5, dtype=np.float16),
        "ids": np.arange(7, dtype=np.int64),
        "mask": np.array([True, False]),
        "scalar": np.array(3.0, dtype=np.float64),
        "empty": np.zeros((0, 3), dtype=np.uint8),
    }
    path = tmp_path / "model.safetensors"
    save_file(tensors, str(path), metadata={"format": "np", "note": "ünïcode"})

    header = read_path(path)
    assert header.metadata == {"format": "np", "note": "ünïcode"}
    assert set(header.tensors) == set(tensors)
    assert header.tensors["embed.weight"].dtype == "F32"
    assert header.tensors["embed.weight"].shape == (3, 4)
    assert header.tensors["embed.weight"].nbytes == 48
    assert header.tensors["scalar"].shape == ()
    assert header.tensors["empty"].num_elements == 0
    assert header.parameter_counts() == {"F32": 12, "F16": 5, "I64": 7, "BOOL": 2, "F64": 1, "U8": 0}
    assert header.total_parameters == 27

    # Offsets agree with the bytes: slicing the data section gives back each tensor.
    raw = path.read_bytes()
    with safe_open(str(path), "np") as ref:
        for name, info in header.tensors.items():
            start, end = info.offsets
            chunk = raw[header.data_start + start : header.data_start + end]
            assert chunk == np.ascontiguousarray(ref.get_tensor(name)).tobytes()
            assert list(info.shape) == ref.get_slice(name).get_shape()


def test_reads_only_the_header() -> None:
    tensors = {"w": np.ones((256, 1024), dtype=np.float32)}  # 1 MiB of data
    from safetensors.numpy import save

    blob = save(tensors)

    class CountingReader(io.BytesIO):
        consumed = 0

        def read(self, n: int | None = -1) -> bytes:
            chunk = super().read(n)
            CountingReader.consumed += len(chunk)
            return chunk

    header = read_header(CountingReader(blob), len(blob))  # type: ignore[arg-type]
    assert CountingReader.consumed == header.data_start < 1000
    assert header.tensors["w"] == TensorInfo("F32", (256, 1024), (0, 1024 * 1024))


def test_short_reads_are_tolerated() -> None:
    blob = build({"t": {"dtype": "U8", "shape": [3], "data_offsets": [0, 3]}}, b"abc")

    class Trickle(io.BytesIO):
        def read(self, n: int | None = -1) -> bytes:
            return super().read(1)

    assert read_header(Trickle(blob), len(blob)).tensors["t"].shape == (3,)  # type: ignore[arg-type]


def test_sub_byte_and_fp8_dtypes() -> None:
    header = {
        "a": {"dtype": "F4", "shape": [2, 3], "data_offsets": [0, 3]},
        "b": {"dtype": "F6_E2M3", "shape": [4], "data_offsets": [3, 6]},
        "c": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [6, 8]},
        "d": {"dtype": "BF16", "shape": [1], "data_offsets": [8, 10]},
    }
    blob = build(header, bytes(10))
    parsed = read_header(io.BytesIO(blob), len(blob))
    assert parsed.parameter_counts() == {"F4": 6, "F6_E2M3": 4, "F8_E4M3": 2, "BF16": 1}


GOOD = {"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}


def one(dtype: str, shape: list[Any], offsets: list[Any], data: bytes = b"") -> bytes:
    return build({"t": {"dtype": dtype, "shape": shape, "data_offsets": offsets}}, data)


def pair(a: list[int], b: list[int], data: bytes) -> bytes:
    return build(
        {
            "a": {"dtype": "U8", "shape": [a[1] - a[0]], "data_offsets": a},
            "b": {"dtype": "U8", "shape": [b[1] - b[0]], "data_offsets": b},
        },
        data,
    )


def nested(depth: int) -> bytes:
    # Valid JSON object whose extra field nests ``depth`` lists deep.
    entry = b'"t": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1], "x": ' + b"[" * depth + b"]" * depth + b"}"
    return build(None, b"x", raw_header=b"{" + entry + b"}")


HOSTILE: list[tuple[str, bytes, str, type[SafetensorsError]]] = [
    ("tiny file", b"\x01\x00", "too small", TruncatedFile),
    ("huge length", struct.pack("<Q", 2**63) + b"{}", "header too large", HeaderTooLarge),
    ("length 2**40", struct.pack("<Q", 2**40) + b"{}", "header too large", HeaderTooLarge),
    ("just over the limit", struct.pack("<Q", MAX_HEADER_SIZE + 1) + b"{}", "header too large", HeaderTooLarge),
    ("length past end", build(GOOD, bytes(8), length=10_000), "exceeds the file", TruncatedFile),
    ("not json", build(None, raw_header=b"{not json!!}"), "not valid JSON", MalformedHeader),
    ("not utf-8", build(None, raw_header=b'{"\xff": 1}'), "UTF-8", MalformedHeader),
    ("utf-16", build(None, raw_header='{"t": 1}'.encode("utf-16")), "not a JSON object", MalformedHeader),
    ("json array", build([1, 2]), "not a JSON object", MalformedHeader),
    ("json string", build("abc"), "not a JSON object", MalformedHeader),
    ("deep list nesting", build(None, raw_header=b"[" * 100_000 + b"]" * 100_000), "not a JSON object",
     MalformedHeader),
    ("deep nesting in an entry", nested(100_000), "nested too deeply", HeaderLimitExceeded),
    ("unterminated deep nesting", build(None, raw_header=b'{"a": ' + b"[" * 100_000), "nested too deeply",
     HeaderLimitExceeded),
    (
        "huge integer",
        build(None, b"x", raw_header=b'{"t": {"dtype": "U8", "shape": [' + b"9" * 5000 + b'], "data_offsets": [0]}}'),
        "not valid JSON",
        MalformedHeader,
    ),
    ("entry not object", build({"t": [1]}), "must be an object", InvalidTensor),
    ("unknown dtype", one("F128", [1], [0, 16], bytes(16)), "unknown dtype", InvalidTensor),
    ("dtype not a string", one(7, [1], [0, 1], b"x"), "unknown dtype", InvalidTensor),  # type: ignore[arg-type]
    ("lower-case dtype", one("f32", [1], [0, 4], bytes(4)), "unknown dtype", InvalidTensor),
    ("negative dim", one("U8", [-1], [0, 0]), "shape", InvalidTensor),
    ("bool dim", one("U8", [True], [0, 1], b"x"), "shape", InvalidTensor),
    ("float dim", one("U8", [1.0], [0, 1], b"x"), "shape", InvalidTensor),
    ("shape not a list", one("U8", 1, [0, 1], b"x"), "shape", InvalidTensor),  # type: ignore[arg-type]
    ("dim past 64 bits", one("U8", [2**64, 0], [0, 0]), "64 bits", InvalidTensor),
    ("missing offsets", build({"t": {"dtype": "U8", "shape": [1]}}, b"x"), "data_offsets", InvalidTensor),
    ("three offsets", one("U8", [1], [0, 1, 2], b"x"), "data_offsets", InvalidTensor),
    ("float offsets", one("U8", [1], [0, 1.0], b"x"), "data_offsets", InvalidTensor),
    ("reversed offsets", one("U8", [0], [1, 0], b"x"), "invalid data_offsets", InvalidTensor),
    ("negative offset", one("U8", [1], [-1, 0], b"x"), "invalid data_offsets", InvalidTensor),
    ("past data", one("F32", [4], [0, 16], bytes(8)), "beyond the data", InvalidTensor),
    ("offsets past 64 bits", one("U8", [1], [2**70, 2**70 + 1], b"x"), "beyond the data", InvalidTensor),
    ("size mismatch", one("F32", [3], [0, 8], bytes(8)), "needs 12 bytes", InvalidTensor),
    ("huge shape", one("F32", [2**62, 2**62], [0, 8], bytes(8)), "overflows", InvalidTensor),
    # The safetensors-cpp overflow PoC: the product wraps to a small number in 64 bits.
    ("wrapping shape", one("U8", [4194305, 4194305, 211106198978564], [0, 1], b"x"), "overflows", InvalidTensor),
    ("overflow before a zero dim", one("U8", [2**40, 2**40, 0], [0, 0]), "overflows", InvalidTensor),
    ("bits overflow", one("F64", [2**62], [0, 8], bytes(8)), "overflows", InvalidTensor),
    ("sub-byte misaligned", one("F4", [3], [0, 2], bytes(2)), "whole number of bytes", InvalidTensor),
    ("overlap", pair([0, 4], [2, 6], bytes(6)), "overlaps", InvalidLayout),
    ("same range twice", pair([0, 4], [0, 4], bytes(4)), "overlaps", InvalidLayout),
    # The zero-size reuse report: an empty tensor placed inside another one's bytes.
    ("empty tensor inside another", pair([0, 4], [2, 2], bytes(4)), "overlaps", InvalidLayout),
    ("gap", pair([0, 2], [4, 6], bytes(6)), "gap", InvalidLayout),
    ("trailing bytes", build(GOOD, bytes(12)), "not covered", InvalidLayout),
    ("metadata not strings", build({"__metadata__": {"x": 1}, **GOOD}, bytes(8)), "__metadata__", MalformedHeader),
    ("metadata not object", build({"__metadata__": "x", **GOOD}, bytes(8)), "__metadata__", MalformedHeader),
    (
        "duplicate field in an entry",
        build(None, b"x", raw_header=b'{"t": {"dtype": "U8", "dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}'),
        "duplicate key",
        MalformedHeader,
    ),
]


@pytest.mark.parametrize(
    "blob,fragment,error", [case[1:] for case in HOSTILE], ids=[case[0] for case in HOSTILE]
)
def test_hostile_headers_are_rejected(
    tmp_path: Path, blob: bytes, fragment: str, error: type[SafetensorsError]
) -> None:
    with pytest.raises(error, match=fragment):
        read_header(io.BytesIO(blob), len(blob))
    # Whatever we reject, the reference loader rejects too (no false alarms on real files).
    path = tmp_path / "x.safetensors"
    path.write_bytes(blob)
    assert not reference_accepts(path)


def many_tensors(count: int) -> bytes:
    entry = '"t{i}": {{"dtype": "U8", "shape": [1], "data_offsets": [{i}, {j}]}}'
    entries = ", ".join(entry.format(i=i, j=i + 1) for i in range(count))
    return build(None, bytes(count), raw_header=("{" + entries + "}").encode())


def test_tensor_count_is_capped() -> None:
    # The reference loader has no cap; 100k tiny entries in a 100 MB header are a known DoS.
    blob = many_tensors(11)
    assert len(read_header(io.BytesIO(blob), len(blob), max_tensors=11).tensors) == 11
    with pytest.raises(HeaderLimitExceeded, match="too many"):
        read_header(io.BytesIO(blob), len(blob), max_tensors=10)
    assert MAX_TENSORS >= 50_000  # room for real checkpoints (sharded MoE models: ~50k in all)


@pytest.mark.timeout(60)  # a hang guard only: each case takes well under a second
@pytest.mark.parametrize(
    "raw",
    [
        # 30 MB of empty lists: ~10M Python objects if parsed, refused by counting first.
        b'{"__metadata__": {}, "t": {"dtype": "U8", "shape": [], "data_offsets": [0, 1], "x": ['
        + b"[]," * 10_000_000
        + b"[]]}}",
        # 20 MB of escaped quotes: the pre-scan of strings costs per escape, so escapes are capped.
        b'{"__metadata__": {"a": "' + b'\\"' * 10_000_000 + b'"}}',
        # 40 MB of one-character tensors' worth of separators.
        b"{" + b'"a":1,' * 7_000_000 + b'"b":1}',
    ],
    ids=["empty lists", "escapes", "separators"],
)
def test_header_bloat_is_refused_before_parsing(raw: bytes) -> None:
    blob = build(None, b"x", raw_header=raw)
    with pytest.raises(HeaderLimitExceeded, match="too many"):
        read_header(io.BytesIO(blob), len(blob))


def test_entry_order_does_not_matter(tmp_path: Path) -> None:
    # JSON order is not offset order: accepted, as by the reference (which sorts by offsets).
    blob = build(
        {
            "c": {"dtype": "U8", "shape": [1], "data_offsets": [3, 4]},
            "e": {"dtype": "U8", "shape": [0], "data_offsets": [4, 4]},
            "a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]},
            "b": {"dtype": "U8", "shape": [1], "data_offsets": [2, 3]},
        },
        b"wxyz",
    )
    header = read_header(io.BytesIO(blob), len(blob))
    assert {name: info.offsets for name, info in header.tensors.items()} == {
        "a": (0, 2), "b": (2, 3), "c": (3, 4), "e": (4, 4)
    }
    path = tmp_path / "x.safetensors"
    path.write_bytes(blob)
    with safe_open(str(path), "np") as ref:
        assert ref.get_tensor("c").tobytes() == b"z"


def test_error_messages_stay_short() -> None:
    # Names and values in messages come from the file: a 1 MB name must not become a 1 MB message.
    name = "n" * 1_000_000
    blob = build({name: {"dtype": "X" * 1_000_000, "shape": [1], "data_offsets": [0, 1]}}, b"x")
    with pytest.raises(InvalidTensor) as caught:
        read_header(io.BytesIO(blob), len(blob))
    assert len(str(caught.value)) < 300
    assert caught.value.tensor == name


def test_parse_header_matches_read_header() -> None:
    blob = build(GOOD, bytes(8))
    raw = read_header_bytes(io.BytesIO(blob), len(blob))
    assert raw == json.dumps(GOOD).encode()
    assert parse_header(raw, len(blob)) == read_header(io.BytesIO(blob), len(blob))


def test_duplicate_tensor_names_are_rejected() -> None:
    # Stricter than the reference loader (which keeps the last entry): two descriptions of
    # one tensor would let tools disagree about which bytes it is.
    blob = (
        build(
            None,
            raw_header=b'{"t": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, '
            b'"t": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}',
        )
        + b"x"
    )
    with pytest.raises(SafetensorsError, match="duplicate key in header: 't'"):
        read_header(io.BytesIO(blob), len(blob))


def test_truncated_stream_is_reported() -> None:
    blob = build(GOOD, bytes(8))
    # The caller believes the file is complete but the stream ends inside the header.
    with pytest.raises(SafetensorsError, match="truncated"):
        read_header(io.BytesIO(blob[:20]), len(blob))
    with pytest.raises(SafetensorsError, match="truncated"):
        read_header(io.BytesIO(blob[:5]), len(blob))


def test_gaps_allowed_when_not_strict() -> None:
    blob = build(
        {
            "a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]},
            "b": {"dtype": "U8", "shape": [2], "data_offsets": [4, 6]},
        },
        bytes(8),
    )
    header = read_header(io.BytesIO(blob), len(blob), require_contiguous=False)
    assert header.total_parameters == 4


def test_accepted_edge_cases_match_reference(tmp_path: Path) -> None:
    cases = [
        build({}),  # no tensors at all
        build(GOOD, bytes(8), raw_header=json.dumps(GOOD).encode() + b"    "),  # space padding
        build({"e": {"dtype": "U8", "shape": [0], "data_offsets": [0, 0]}, **GOOD}, bytes(8)),
        build({"__metadata__": {}, **GOOD, "t": {**GOOD["t"], "extra": 1}}, bytes(8)),
    ]
    for i, blob in enumerate(cases):
        path = tmp_path / f"ok{i}.safetensors"
        path.write_bytes(blob)
        assert reference_accepts(path), i
        read_path(path)
