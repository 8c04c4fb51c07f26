import math

import numpy as np
import pytest
import torch

from repos.weights.tensor_numeric import FP8_TABLES, ITEMSIZE, PairAccumulator, Workspace

FP8_IN_TORCH = {
    "F8_E4M3": torch.float8_e4m3fn,
    "F8_E5M2": torch.float8_e5m2,
    "F8_E4M3FNUZ": torch.float8_e4m3fnuz,
    "F8_E5M2FNUZ": torch.float8_e5m2fnuz,
    "F8_E8M0": torch.float8_e8m0fnu,
}


@pytest.mark.parametrize("dtype", sorted(FP8_IN_TORCH))
def test_fp8_tables_match_torch(dtype: str) -> None:
    # Every one of the 256 bit patterns decodes as torch decodes it (NaN where torch says NaN).
    expected = torch.arange(256, dtype=torch.uint8).view(FP8_IN_TORCH[dtype]).to(torch.float64).numpy()
    np.testing.assert_array_equal(FP8_TABLES[dtype], expected)


def test_fp8_diff_against_torch() -> None:
    torch.manual_seed(3)
    a = torch.randn(1000).to(torch.float8_e4m3fn)
    b = (a.to(torch.float32) * 1.5).to(torch.float8_e4m3fn)
    acc = PairAccumulator("F8_E4M3", max_chunk_bytes=256)
    raw_a, raw_b = a.view(torch.uint8).numpy(), b.view(torch.uint8).numpy()
    for start in range(0, 1000, 256):
        acc.add(raw_a[start : start + 256], raw_b[start : start + 256])
    stats = acc.finish()
    a64, b64 = a.to(torch.float64).numpy(), b.to(torch.float64).numpy()
    assert stats.max_abs_diff == pytest.approx(float(np.max(np.abs(b64 - a64))))
    assert stats.rel_l2 == pytest.approx(float(np.linalg.norm(b64 - a64) / np.linalg.norm(a64)), rel=1e-9)
    assert stats.changed_elements == int(np.count_nonzero(raw_a != raw_b))


@pytest.mark.parametrize("dtype", ["F32", "F16", "F64", "I16", "U32"])
def test_result_does_not_depend_on_chunking(dtype: str) -> None:
    rng = np.random.default_rng(5)
    numpy_dtype = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I16": np.int16, "U32": np.uint32}[dtype]
    a = (rng.standard_normal(4096) * 100).astype(numpy_dtype)
    b = a.copy()
    b[::7] = (rng.standard_normal(b[::7].size) * 100).astype(numpy_dtype)
    raw_a, raw_b = a.view(np.uint8), b.view(np.uint8)
    results = []
    for chunk in (ITEMSIZE[dtype] * 64, raw_a.size):
        acc = PairAccumulator(dtype, max_chunk_bytes=chunk, workspace=Workspace(chunk))
        for start in range(0, raw_a.size, chunk):
            acc.add(raw_a[start : start + chunk], raw_b[start : start + chunk])
        results.append(acc.finish())
    small, whole = results
    changed = int(np.count_nonzero(a != b))  # no NaN or signed zero here: values differ iff bits do
    assert changed > 500
    assert (small.elements, small.changed_elements) == (whole.elements, whole.changed_elements) == (4096, changed)
    for field in ("max_abs_diff", "l2_old", "l2_new", "l2_diff", "rel_l2"):
        assert getattr(small, field) == pytest.approx(getattr(whole, field), rel=1e-12)


def test_identical_prefix_counts_in_both_norms() -> None:
    a = np.arange(1, 9, dtype=np.float32)
    b = a.copy()
    b[-1] = 0
    acc = PairAccumulator("F32", max_chunk_bytes=16)
    acc.add_identical(a[:4].view(np.uint8))
    acc.add(a[4:].view(np.uint8), b[4:].view(np.uint8))
    stats = acc.finish()
    assert (stats.elements, stats.changed_elements, stats.max_abs_diff) == (8, 1, 8.0)
    assert stats.l2_old == pytest.approx(math.sqrt(sum(x * x for x in range(1, 9))))
    assert stats.l2_new == pytest.approx(math.sqrt(sum(x * x for x in range(1, 8))))


def test_float32_squares_past_float32_range_are_redone_in_float64() -> None:
    a = np.array([3e38, 1.0], dtype=np.float32)
    b = np.array([-3e38, 1.0], dtype=np.float32)  # the difference itself is inf in float32
    acc = PairAccumulator("F32", max_chunk_bytes=8)
    acc.add(a.view(np.uint8), b.view(np.uint8))
    stats = acc.finish()
    assert stats.max_abs_diff == pytest.approx(6e38, rel=1e-6)
    assert stats.rel_l2 == pytest.approx(2.0, rel=1e-6)
    assert stats.nonfinite_changed == 0


def test_unsupported_dtype_is_refused() -> None:
    with pytest.raises(ValueError, match="no numeric decoding"):
        PairAccumulator("F4", max_chunk_bytes=64)
