import json
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file
from safetensors.torch import load_file as torch_load_file
from safetensors.torch import save_file as torch_save_file

from repos.weights import tensor_diff as tensor_diff_module
from repos.weights.checkpoint import Blob, SingleFile
from repos.weights.tensor_diff import diff_checkpoints, diff_headers
from repos.weights.tensor_diff_result import TensorDiffResult, TensorRow
from tests.repos.weights.builders import build, bytes_blob, file_blob, oracle, sharded, single

RNG = np.random.default_rng(7)
# Small chunks so that every multi-kilobyte tensor spans several of them.
CHUNK = 4096


def normal(*shape: int, dtype: Any = np.float32) -> np.ndarray:
    return RNG.standard_normal(shape).astype(dtype)


def assert_stats(row: TensorRow | None, expected: dict[str, Any]) -> None:
    assert row is not None and row.stats is not None, row
    stats = row.stats
    assert stats.elements == expected["elements"]
    assert stats.changed_elements == expected["changed_elements"]
    assert stats.nonfinite_changed == expected["nonfinite_changed"]
    for field in ("max_abs_diff", "l2_old", "l2_new", "l2_diff", "rel_l2"):
        want = expected[field]
        got = getattr(stats, field)
        assert got == (None if want is None else pytest.approx(want, rel=1e-6, abs=1e-12)), field


def statuses(result: TensorDiffResult) -> dict[str, str]:
    return {row.name: row.status for row in result.tensors}


@pytest.fixture(params=[True, False], ids=["compute-thread", "inline"])
def compute_thread(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def test_fp32_every_kind_of_change_against_numpy(tmp_path: Path, compute_thread: bool) -> None:
    big = normal(64, 100)  # 25.6 kB: 7 chunks
    late = big.copy()
    late[-1, -3:] += 0.5  # differs only in the last chunk: the equal prefix is re-read for norms
    old = {
        "enc.layer.0.w": big,
        "enc.layer.0.b": normal(100),
        "enc.layer.1.w": normal(32, 32),
        "enc.layer.1.b": normal(32),
        "head.w": normal(10, 8),
        "head.gone": normal(5),
        "cast": normal(4),
        "empty": np.zeros((0, 3), np.float32),
    }
    new = dict(old)
    new["enc.layer.0.w"] = late
    new["enc.layer.1.w"] = old["enc.layer.1.w"] + normal(32, 32) * np.float32(1e-3)
    new["head.w"] = old["head.w"].reshape(8, 10).copy()  # same bytes, new shape
    new["cast"] = old["cast"].astype(np.float64)
    new["empty"] = np.zeros((0, 3), np.float32)
    del new["head.gone"]
    new["head.added"] = normal(3)

    a = single(tmp_path / "a", "model.safetensors", old)
    b = single(tmp_path / "b", "model.safetensors", new)
    result = diff_checkpoints(old=a, new=b, chunk_bytes=CHUNK, compute_thread=compute_thread)

    assert result.complete and result.interrupted is None
    assert statuses(result) == {
        "cast": "dtype_changed",
        "empty": "unchanged",
        "enc.layer.0.b": "unchanged",
        "enc.layer.0.w": "changed",
        "enc.layer.1.b": "unchanged",
        "enc.layer.1.w": "changed",
        "head.added": "added",
        "head.gone": "removed",
        "head.w": "shape_changed",
    }
    ref_a = load_file(str(tmp_path / "a" / "model.safetensors"))
    ref_b = load_file(str(tmp_path / "b" / "model.safetensors"))
    for name in ("enc.layer.0.w", "enc.layer.1.w"):
        assert_stats(result.row(name), oracle(ref_a[name], ref_b[name]))
    assert result.row("enc.layer.0.w").stats.changed_elements == 3  # type: ignore[union-attr]
    cast = result.row("cast")
    assert cast is not None and cast.old is not None and cast.new is not None
    assert (cast.old.dtype, cast.new.dtype, cast.old.shape) == ("F32", "F64", (4,))
    assert result.row("head.added").old is None  # type: ignore[union-attr]
    assert result.row("head.gone").new is None  # type: ignore[union-attr]
    # Every byte of every same-dtype-and-shape, non-empty tensor was read on both sides.
    compared = ("enc.layer.0.w", "enc.layer.0.b", "enc.layer.1.w", "enc.layer.1.b")
    assert result.bytes_compared == result.bytes_to_compare == 2 * sum(old[n].nbytes for n in compared)


def test_fp16_and_bf16_written_by_torch(tmp_path: Path, compute_thread: bool) -> None:
    torch.manual_seed(0)
    old = {
        "h.w": torch.randn(40, 50, dtype=torch.float16),
        "b.w": torch.randn(40, 50, dtype=torch.bfloat16),
        "b.same": torch.randn(300, dtype=torch.bfloat16),
    }
    new = {name: tensor.clone() for name, tensor in old.items()}
    new["h.w"][::3] += 0.25
    new["b.w"] = (new["b.w"].float() * 1.01).to(torch.bfloat16)
    for side, tensors in (("a", old), ("b", new)):
        (tmp_path / side).mkdir()
        torch_save_file(tensors, str(tmp_path / side / "model.safetensors"))
    a, b = (SingleFile(file_blob(tmp_path / side / "model.safetensors")) for side in ("a", "b"))
    result = diff_checkpoints(old=a, new=b, chunk_bytes=CHUNK, compute_thread=compute_thread)

    assert statuses(result) == {"h.w": "changed", "b.w": "changed", "b.same": "unchanged"}
    ref_a = torch_load_file(str(tmp_path / "a" / "model.safetensors"))
    ref_b = torch_load_file(str(tmp_path / "b" / "model.safetensors"))
    for name in ("h.w", "b.w"):
        # The oracle sees the values through torch's own float64 conversion and the bits
        # through an int16 view: independent of the diff's bf16 widening.
        bits_a, bits_b = ref_a[name].view(torch.int16).numpy(), ref_b[name].view(torch.int16).numpy()
        expected = oracle(ref_a[name].to(torch.float64).numpy(), ref_b[name].to(torch.float64).numpy())
        expected["changed_elements"] = int(np.count_nonzero(bits_a != bits_b))
        assert_stats(result.row(name), expected)
    assert result.row("b.w").stats.rel_l2 == pytest.approx(0.01, rel=0.05)  # type: ignore[union-attr]


def bert_like(layers: int = 4, hidden: int = 16) -> dict[str, torch.Tensor]:
    tensors = {"embeddings.word.weight": torch.randn(50, hidden), "embeddings.norm.weight": torch.ones(hidden)}
    for i in range(layers):
        for part in ("attention.query", "attention.key", "attention.value", "attention.out", "mlp.up", "mlp.down"):
            tensors[f"encoder.layer.{i}.{part}.weight"] = torch.randn(hidden, hidden)
            tensors[f"encoder.layer.{i}.{part}.bias"] = torch.randn(hidden)
        tensors[f"encoder.layer.{i}.norm.weight"] = torch.ones(hidden)
        tensors[f"encoder.layer.{i}.norm.bias"] = torch.zeros(hidden)
    tensors["pooler.weight"] = torch.randn(hidden, hidden)
    return tensors


def torch_writer(tensors: dict[str, Any], path: str) -> None:
    torch_save_file(tensors, path)


def test_fine_tuned_two_layers_are_exactly_what_changed(tmp_path: Path) -> None:
    torch.manual_seed(1)
    base = bert_like()
    tuned = {name: tensor.clone() for name, tensor in base.items()}
    touched = {name for name in base if name.startswith(("encoder.layer.1.", "encoder.layer.3."))}
    for name in touched:
        tuned[name] += 1e-4 * torch.randn_like(tuned[name])

    names = sorted(base)
    # Old side in two shards, new side in three: the layout does not matter, names do.
    old = sharded(tmp_path / "old", [{n: base[n] for n in names[:20]}, {n: base[n] for n in names[20:]}],
                  save=torch_writer)
    new = sharded(
        tmp_path / "new",
        [{n: tuned[n] for n in names[i::3]} for i in range(3)],
        save=torch_writer,
    )
    result = diff_checkpoints(old=old, new=new, chunk_bytes=CHUNK)

    changed = {row.name for row in result.tensors if row.status == "changed"}
    assert changed == touched
    assert {row.status for row in result.tensors if row.name not in touched} == {"unchanged"}
    modules = {module.name: module for module in result.modules}
    assert (modules["encoder.layer.1"].differing, modules["encoder.layer.1"].tensors) == (14, 14)
    assert (modules["encoder.layer.1.mlp.up"].differing, modules["encoder.layer.1.mlp.up"].tensors) == (2, 2)
    assert (modules["encoder.layer.0"].differing, modules["encoder.layer.0"].tensors) == (0, 14)
    assert (modules["encoder.layer"].differing, modules["encoder.layer"].tensors) == (28, 56)
    assert (modules["encoder"].differing, modules["embeddings"].differing) == (28, 0)
    assert (result.totals.tensors, result.totals.differing, result.totals.count("unchanged")) == (59, 28, 31)
    for name in touched:
        expected = oracle(base[name].numpy(), tuned[name].numpy())
        assert_stats(result.row(name), expected)
    row = result.row("encoder.layer.1.mlp.up.weight")
    assert row is not None and row.old is not None and row.new is not None
    assert row.old.file.startswith("model-0000") and row.new.file.endswith("-of-00003.safetensors")


def test_sharded_and_single_file_agree(tmp_path: Path) -> None:
    old_tensors = {f"l{i}.w": normal(20, 20) for i in range(6)}
    new_tensors = {name: t + np.float32(0.1) if name in ("l1.w", "l4.w") else t for name, t in old_tensors.items()}
    names = sorted(old_tensors)
    one_file = diff_checkpoints(
        old=single(tmp_path / "a", "model.safetensors", old_tensors),
        new=single(tmp_path / "b", "model.safetensors", new_tensors),
        chunk_bytes=CHUNK,
    )
    mixed = diff_checkpoints(
        old=sharded(tmp_path / "c", [{n: old_tensors[n] for n in names[:3]}, {n: old_tensors[n] for n in names[3:]}]),
        new=single(tmp_path / "d", "model.safetensors", new_tensors),
        chunk_bytes=CHUNK,
    )
    for a, b in zip(one_file.tensors, mixed.tensors, strict=True):
        assert (a.name, a.status, a.stats) == (b.name, b.status, b.stats)
    assert [row.name for row in one_file.tensors if row.status == "changed"] == ["l1.w", "l4.w"]


def test_equal_bytes_are_unchanged_without_float_math(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tensors = {"a": normal(100, 100), "b": np.arange(1000, dtype=np.int64), "c": normal(7).astype(np.float16)}

    class NoMath:
        def __init__(self, *args: object, **kwargs: object) -> None:
            raise AssertionError("numeric decoding started for equal bytes")

    monkeypatch.setattr(tensor_diff_module, "PairAccumulator", NoMath)
    result = diff_checkpoints(
        old=single(tmp_path / "a", "m.safetensors", tensors), new=single(tmp_path / "b", "m.safetensors", tensors),
        chunk_bytes=CHUNK,
    )
    assert set(statuses(result).values()) == {"unchanged"}
    assert result.bytes_compared == 2 * sum(t.nbytes for t in tensors.values())


def test_header_only_diff_reads_only_headers(tmp_path: Path) -> None:
    old_tensors = {"w": normal(200, 200), "gone": normal(3)}
    new_tensors = {"w": normal(200, 200), "new": normal(3)}
    paths = []
    for side, tensors in (("a", old_tensors), ("b", new_tensors)):
        single(tmp_path / side, "model.safetensors", tensors)
        paths.append(tmp_path / side / "model.safetensors")

    read_bytes: list[int] = []

    class Counting:
        def __init__(self, path: Path) -> None:
            self._f = path.open("rb")

        def read(self, n: int = -1) -> bytes:
            data = self._f.read(n)
            read_bytes.append(len(data))
            return data

        def __enter__(self) -> "Counting":
            return self

        def __exit__(self, *exc: object) -> None:
            self._f.close()

    blobs = [Blob(open=lambda p=p: Counting(p), size=p.stat().st_size) for p in paths]  # type: ignore[misc,arg-type]
    result = diff_headers(old=SingleFile(blobs[0]), new=SingleFile(blobs[1]))
    assert statuses(result) == {"w": "not_compared", "gone": "removed", "new": "added"}
    assert result.complete and result.bytes_compared == 0 and result.bytes_to_compare == 2 * 160_000
    assert sum(read_bytes) < 400  # two 8-byte prefixes and two short JSON headers


def test_shared_blobs_are_not_read(tmp_path: Path) -> None:
    # Sharded checkpoints where a PR touched one shard: the other shard is the same blob.
    tensors = {f"t{i}": normal(50) for i in range(4)}
    opened: list[str] = []
    same = single(tmp_path / "same", "model-1.safetensors", {"t0": tensors["t0"], "t1": tensors["t1"]})
    a2 = single(tmp_path / "a", "model-2.safetensors", {"t2": tensors["t2"], "t3": tensors["t3"]})
    b2 = single(tmp_path / "b", "model-2.safetensors", {"t2": tensors["t2"] + 1, "t3": tensors["t3"]})
    shared = file_blob(tmp_path / "same" / "model-1.safetensors", key="sha-1", opened=opened)
    index = json.dumps({"weight_map": {"t0": "model-1.safetensors", "t1": "model-1.safetensors",
                                       "t2": "model-2.safetensors", "t3": "model-2.safetensors"}}).encode()
    from repos.weights.checkpoint import ShardedFiles

    old = ShardedFiles(index=bytes_blob(index), shards={"model-1.safetensors": shared,
                                                         "model-2.safetensors": a2.blob})
    new = ShardedFiles(index=bytes_blob(index), shards={"model-1.safetensors": shared,
                                                         "model-2.safetensors": b2.blob})
    result = diff_checkpoints(old=old, new=new, chunk_bytes=CHUNK)
    assert statuses(result) == {"t0": "unchanged", "t1": "unchanged", "t2": "changed", "t3": "unchanged"}
    assert opened == ["model-1.safetensors"]  # its header, once for both sides; never its data
    assert same.blob.size > 0


def test_integers_bool_and_complex(tmp_path: Path) -> None:
    big = np.array([-(2**63), 2**63 - 1, 5, 0], dtype=np.int64)
    old: dict[str, np.ndarray] = {
        "i64": big,
        "u64": np.array([0, 2**64 - 1], dtype=np.uint64),
        "i32": np.array([-(2**31), 7, 2**31 - 1], dtype=np.int32),
        "u8": np.arange(10, dtype=np.uint8),
        "mask": np.array([True, False, True]),
        "c64": np.array([1 + 2j, 3 - 4j], dtype=np.complex64),
    }
    new: dict[str, np.ndarray] = {
        "i64": np.array([2**63 - 1, -(2**63), 5, 1], dtype=np.int64),
        "u64": np.array([2**64 - 1, 0], dtype=np.uint64),
        "i32": np.array([2**31 - 1, 7, -(2**31)], dtype=np.int32),
        "u8": np.arange(10, dtype=np.uint8)[::-1].copy(),
        "mask": np.array([True, True, True]),
        "c64": np.array([1 + 2j, 0 + 0j], dtype=np.complex64),
    }
    result = diff_checkpoints(
        old=single(tmp_path / "a", "m.safetensors", old), new=single(tmp_path / "b", "m.safetensors", new)
    )
    exact = {row.name: row.stats.max_abs_diff for row in result.tensors if row.stats}
    # Exact integers even where int64 arithmetic would overflow.
    assert exact == {"i64": 2**64 - 1, "u64": 2**64 - 1, "i32": 2**32 - 1, "u8": 9, "mask": 1,
                     "c64": pytest.approx(5.0)}
    assert all(type(exact[name]) is int for name in ("i64", "u64", "i32", "u8", "mask"))
    i32 = result.row("i32")
    assert i32 is not None and i32.stats is not None
    assert i32.stats.changed_elements == 2
    assert i32.stats.l2_diff == pytest.approx(float(np.hypot(2**32 - 1, 2**32 - 1)))
    c64 = result.row("c64")
    assert c64 is not None and c64.stats is not None
    assert (c64.stats.elements, c64.stats.changed_elements) == (2, 1)
    assert c64.stats.l2_old == pytest.approx(np.sqrt(1 + 4 + 9 + 16))


def test_nonfinite_values_and_zero_norms(tmp_path: Path) -> None:
    with_nan = np.array([1.0, np.nan, 3.0, np.inf, 5.0], dtype=np.float32)
    old = {
        "nan": with_nan,
        "zeros": np.zeros(4, np.float32),
        "signed_zero": np.zeros(3, np.float32),
    }
    new = {
        "nan": np.array([1.0, 2.0, 3.5, np.inf, -np.inf], dtype=np.float32),
        "zeros": np.array([0, 0, 3, 4], dtype=np.float32),
        "signed_zero": np.array([0.0, -0.0, 0.0], dtype=np.float32),
    }
    result = diff_checkpoints(
        old=single(tmp_path / "a", "m.safetensors", old), new=single(tmp_path / "b", "m.safetensors", new)
    )
    for name in old:
        assert_stats(result.row(name), oracle(old[name], new[name]))
    nan = result.row("nan")
    assert nan is not None and nan.stats is not None
    # NaN -> 2 and 5 -> -inf are changed but unmeasurable; 3 -> 3.5 is the finite change.
    assert (nan.stats.changed_elements, nan.stats.nonfinite_changed, nan.stats.max_abs_diff) == (3, 2, 0.5)
    zeros = result.row("zeros")
    assert zeros is not None and zeros.stats is not None
    assert (zeros.stats.rel_l2, zeros.stats.l2_diff) == (None, 5.0)  # ||a|| = 0: infinite relative change
    signed = result.row("signed_zero")
    assert signed is not None and signed.stats is not None and signed.status == "changed"
    assert (signed.stats.changed_elements, signed.stats.rel_l2, signed.stats.max_abs_diff) == (1, 0.0, 0.0)
    json.dumps(result.to_dict(), allow_nan=False)  # None, never NaN/inf, in the JSON


def test_sub_byte_dtype_counts_changed_bytes() -> None:
    def f4(data: bytes) -> SingleFile:
        blob = build({"q": {"dtype": "F4", "shape": [8], "data_offsets": [0, 4]}}, data)
        return SingleFile(bytes_blob(blob))

    result = diff_checkpoints(old=f4(b"\x00\x11\x22\x33"), new=f4(b"\x00\x11\x2f\x3f"))
    row = result.row("q")
    assert row is not None and row.status == "changed" and row.stats is not None
    assert (row.stats.numeric, row.stats.changed_elements, row.stats.elements, row.stats.rel_l2) == (False, 2, 8, None)


def test_streaming_memory_is_bounded_by_the_chunk(tmp_path: Path) -> None:
    big = normal(1024, 1024)  # 4 MiB per side, every element changed
    a = single(tmp_path / "a", "m.safetensors", {"w": big})
    b = single(tmp_path / "b", "m.safetensors", {"w": big * np.float32(1.5)})
    tracemalloc.start()
    try:
        result = diff_checkpoints(old=a, new=b, chunk_bytes=64 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.row("w").stats.rel_l2 == pytest.approx(0.5, rel=1e-6)  # type: ignore[union-attr]
    # 8 pooled chunk pairs (1 MiB) + workspace (4 x 64 KiB of float32) + bookkeeping: a
    # fraction of one side's 4 MiB tensor, whatever the tensor size.
    assert peak < 2 * 1024 * 1024


def test_cancel_and_deadline_give_partial_results(tmp_path: Path, compute_thread: bool) -> None:
    tensors = {f"t{i}": normal(64, 64) for i in range(6)}
    changed = {name: t + np.float32(1) for name, t in tensors.items()}
    a = single(tmp_path / "a", "m.safetensors", tensors)
    b = single(tmp_path / "b", "m.safetensors", changed)

    calls = 0

    def stop_after_ten() -> bool:
        nonlocal calls
        calls += 1
        return calls > 10

    cancelled = diff_checkpoints(
        old=a, new=b, chunk_bytes=CHUNK, should_stop=stop_after_ten, compute_thread=compute_thread
    )
    assert (cancelled.complete, cancelled.interrupted) == (False, "cancelled")
    counts = cancelled.totals.counts
    assert counts["changed"] >= 1 and counts["not_compared"] >= 1 and sum(counts.values()) == 6
    assert cancelled.bytes_compared == 10 * 2 * CHUNK < cancelled.bytes_to_compare

    now = [0.0]

    def clock() -> float:
        now[0] += 1.0
        return now[0]

    late = diff_checkpoints(old=a, new=b, chunk_bytes=CHUNK, deadline=5.0, clock=clock, compute_thread=compute_thread)
    assert (late.complete, late.interrupted, late.bytes_compared) == (False, "deadline", 4 * 2 * CHUNK)
    assert diff_checkpoints(old=a, new=b, chunk_bytes=CHUNK, deadline=1e9, clock=clock).complete


def test_progress_is_monotonic_and_ends_at_the_total(tmp_path: Path) -> None:
    tensors = {f"t{i}": normal(100, 100) for i in range(5)}
    a = single(tmp_path / "a", "m.safetensors", tensors)
    b = single(tmp_path / "b", "m.safetensors", {**tensors, "t2": tensors["t2"] * 2})
    seen: list[tuple[int, int]] = []
    result = diff_checkpoints(old=a, new=b, chunk_bytes=CHUNK, progress=lambda done, total: seen.append((done, total)))
    total = 2 * 5 * 40_000
    assert seen[-1] == (total, total) == (result.bytes_compared, result.bytes_to_compare)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert 2 <= len(seen) <= 102


def test_result_round_trips_through_json_and_truncates(tmp_path: Path) -> None:
    old = {f"block.{i}.w": normal(8) for i in range(30)}
    new = {name: (t + 1 if name.endswith(("3.w", "7.w")) else t) for name, t in old.items()}
    a, b = single(tmp_path / "a", "m.safetensors", old), single(tmp_path / "b", "m.safetensors", new)
    result = diff_checkpoints(old=a, new=b, max_rows=4, max_modules=5)
    assert (len(result.tensors), result.tensors_total, result.tensors_truncated) == (4, 30, True)
    # Differing rows are kept before unchanged ones (here they fill all 4), in name order.
    assert [(row.name, row.status) for row in result.tensors] == [
        ("block.13.w", "changed"), ("block.17.w", "changed"), ("block.23.w", "changed"), ("block.27.w", "changed")
    ]
    assert result.totals.count("changed") == 6  # 3, 7, 13, 17, 23, 27: totals cover every tensor
    assert (len(result.modules), result.modules_total, result.modules_truncated) == (5, 31, True)
    assert result.modules[0].name == "block"  # shallow levels are kept first

    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["version"] == 1 and data["tensors_truncated"] is True
    assert TensorDiffResult.from_dict(data) == result
    with pytest.raises(ValueError, match="schema version"):
        TensorDiffResult.from_dict({**data, "version": 0})


def test_unseekable_streams_and_read_only_objects(tmp_path: Path) -> None:
    # Openers may return pipes or wrappers: no seek, no readinto. Reads go forward or reopen.
    old = {"a": normal(40, 40), "b": normal(40, 40), "c": normal(10)}
    new = {"c": old["c"] + 1, "a": old["a"] * 2, "b": old["b"]}  # another order: new side jumps back
    paths = []
    for side, tensors in (("a", old), ("b", new)):
        single(tmp_path / side, "m.safetensors", tensors)
        paths.append(tmp_path / side / "m.safetensors")
    opens: list[Path] = []

    class Stream:
        def __init__(self, path: Path) -> None:
            opens.append(path)
            self._f = path.open("rb")

        def read(self, n: int = -1) -> bytes:
            return self._f.read(min(n, 1000) if n >= 0 else n)

        def seekable(self) -> bool:
            return False

        def close(self) -> None:
            self._f.close()

        def __enter__(self) -> "Stream":
            return self

        def __exit__(self, *exc: object) -> None:
            self.close()

    blobs = [Blob(open=lambda p=p: Stream(p), size=p.stat().st_size) for p in paths]  # type: ignore[misc,arg-type]
    streamed = diff_checkpoints(old=SingleFile(blobs[0]), new=SingleFile(blobs[1]), chunk_bytes=CHUNK)
    plain = diff_checkpoints(old=SingleFile(file_blob(paths[0])), new=SingleFile(file_blob(paths[1])),
                             chunk_bytes=CHUNK)
    assert streamed == plain
    assert statuses(streamed) == {"a": "changed", "b": "unchanged", "c": "changed"}


def test_open_files_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tensor_diff_module, "MAX_OPEN_FILES", 2)
    old_shards = [{f"s{i}.w": normal(30)} for i in range(6)]
    new_shards = [{f"s{i}.w": normal(30)} for i in range(6)]  # every tensor changed
    old, new = sharded(tmp_path / "a", old_shards), sharded(tmp_path / "b", new_shards)
    now_open, most = [0], [0]

    class Tracked:
        def __init__(self, path: Path) -> None:
            self._f = path.open("rb")
            now_open[0] += 1
            most[0] = max(most[0], now_open[0])

        def __getattr__(self, name: str) -> Any:
            return getattr(self._f, name)

        def close(self) -> None:
            now_open[0] -= 1
            self._f.close()

        def __enter__(self) -> "Tracked":
            return self

        def __exit__(self, *exc: object) -> None:
            self.close()

    def tracked(checkpoint: Any, directory: Path) -> Any:
        shards = {
            name: Blob(open=lambda p=directory / name: Tracked(p), size=blob.size)  # type: ignore[misc,arg-type]
            for name, blob in checkpoint.shards.items()
        }
        return type(checkpoint)(index=checkpoint.index, shards=shards)

    result = diff_checkpoints(old=tracked(old, tmp_path / "a"), new=tracked(new, tmp_path / "b"),
                              compute_thread=False)
    assert result.totals.count("changed") == 6
    assert most[0] <= 2 and now_open[0] == 0  # the header reads open and close one at a time
