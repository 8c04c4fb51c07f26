import io
import json

import numpy as np
import pytest
from safetensors.numpy import save

from repos.weights.checkpoint import (
    MAX_INDEX_SIZE,
    Blob,
    CheckpointError,
    InconsistentCheckpoint,
    InvalidIndex,
    InvalidWeightsFile,
    MissingShard,
    ShardedFiles,
    SingleFile,
    read_layout,
)
from repos.weights.safetensors_header import HeaderTooLarge, InvalidTensor
from repos.weights.tensor_diff import diff_checkpoints, diff_headers
from tests.repos.weights.builders import build, bytes_blob

SHARD = save({"a": np.arange(4, dtype=np.float32), "b": np.ones(2, dtype=np.int64)})


def index(weight_map: object, **extra: object) -> Blob:
    return bytes_blob(json.dumps({"metadata": {"total_size": 32}, "weight_map": weight_map, **extra}).encode())


def test_sharded_layout_follows_the_weight_map() -> None:
    other = save({"c": np.zeros(3, dtype=np.float16), "stray": np.zeros(1, dtype=np.uint8)})
    layout = read_layout(
        ShardedFiles(
            index=index({"a": "s1.safetensors", "b": "s1.safetensors", "c": "sub/s2.safetensors"}),
            shards={"s1.safetensors": bytes_blob(SHARD), "sub/s2.safetensors": bytes_blob(other),
                    "unused.safetensors": bytes_blob(b"not even safetensors")},
        )
    )
    assert sorted(layout.tensors) == ["a", "b", "c"]
    assert (layout.file_of("a"), layout.file_of("c")) == ("s1.safetensors", "sub/s2.safetensors")
    assert layout.unlisted == 1  # "stray" is in a shard but not in the index: loaders ignore it
    assert sorted(layout.files) == ["s1.safetensors", "sub/s2.safetensors"]
    # start_of points at the tensor's bytes in its file.
    start = layout.start_of("b")
    assert SHARD[start : start + 16] == np.ones(2, dtype=np.int64).tobytes()


@pytest.mark.parametrize(
    "content,fragment",
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "no weight_map"),
        (json.dumps({"weight_map": ["a"]}).encode(), "no weight_map"),
        (json.dumps({"weight_map": {"a": 1}}).encode(), "not a relative file name"),
        (b'{"weight_map": {"a": "s1.safetensors", "a": "s1.safetensors"}}', "duplicate key"),
        (b'{"weight_map": ' + b"[" * 1000 + b"]" * 1000 + b"}", "nested too deeply"),
    ],
    ids=["not json", "array", "list map", "shard not a string", "duplicate tensor", "deep"],
)
def test_bad_index_is_refused(content: bytes, fragment: str) -> None:
    checkpoint = ShardedFiles(index=bytes_blob(content), shards={"s1.safetensors": bytes_blob(SHARD)})
    with pytest.raises(InvalidIndex, match=fragment) as caught:
        read_layout(checkpoint, side="new")
    assert (caught.value.side, caught.value.file) == ("new", "model.safetensors.index.json")


@pytest.mark.parametrize("name", ["../s1.safetensors", "/etc/passwd", "a//b", "a/./b", "", "a\\b", "a\0b", "dir/"])
def test_unsafe_shard_names_are_refused(name: str) -> None:
    # Shard names are user data the caller resolves next to the index: no way out of that dir.
    with pytest.raises(InvalidIndex, match="not a relative file name"):
        read_layout(ShardedFiles(index=index({"a": name}), shards={name: bytes_blob(SHARD)}))


def test_oversized_index_is_not_read() -> None:
    def never() -> object:
        raise AssertionError("opened")

    blob = Blob(open=never, size=MAX_INDEX_SIZE + 1)  # type: ignore[arg-type]
    with pytest.raises(InvalidIndex, match="index too large"):
        read_layout(ShardedFiles(index=blob, shards={}))


def test_missing_and_inconsistent_shards() -> None:
    with pytest.raises(MissingShard, match="'s2.safetensors'"):
        read_layout(ShardedFiles(index=index({"a": "s1.safetensors", "z": "s2.safetensors"}),
                                 shards={"s1.safetensors": bytes_blob(SHARD)}))
    with pytest.raises(InconsistentCheckpoint, match="tensor 'z'"):
        read_layout(ShardedFiles(index=index({"a": "s1.safetensors", "z": "s1.safetensors"}),
                                 shards={"s1.safetensors": bytes_blob(SHARD)}))


def test_a_hostile_shard_header_names_side_file_and_kind() -> None:
    hostile = build({"t": {"dtype": "F128", "shape": [1], "data_offsets": [0, 16]}}, bytes(16))
    old = SingleFile(bytes_blob(SHARD))
    new = ShardedFiles(index=index({"t": "model-2.safetensors"}), shards={"model-2.safetensors": bytes_blob(hostile)})
    with pytest.raises(InvalidWeightsFile) as caught:
        diff_headers(old=old, new=new)
    error = caught.value
    assert (error.side, error.file) == ("new", "model-2.safetensors")
    assert isinstance(error.__cause__, InvalidTensor) and "unknown dtype" in str(error)
    assert isinstance(error, CheckpointError) and isinstance(error, ValueError)

    huge = (2**40).to_bytes(8, "little") + b"{}"
    with pytest.raises(InvalidWeightsFile) as caught:
        diff_headers(old=SingleFile(bytes_blob(huge), name="model.safetensors"), new=old)
    assert caught.value.side == "old" and isinstance(caught.value.__cause__, HeaderTooLarge)


def test_data_shorter_than_promised_is_reported() -> None:
    # The stored size (and so the header check) says the bytes are there; the stream ends early.
    data = save({"w": np.arange(1000, dtype=np.float32)})
    changed = save({"w": np.arange(1000, dtype=np.float32) + 1})
    short = Blob(open=lambda: io.BytesIO(changed[:-100]), size=len(changed))
    with pytest.raises(InvalidWeightsFile, match="ends before byte") as caught:
        diff_checkpoints(old=SingleFile(bytes_blob(data)), new=SingleFile(short), chunk_bytes=4096)
    assert caught.value.side == "new"


def test_too_many_tensors_in_a_checkpoint() -> None:
    many = save({f"t{i}": np.zeros(1, dtype=np.uint8) for i in range(5)})
    with pytest.raises(InvalidWeightsFile, match="too many tensors"):
        read_layout(SingleFile(bytes_blob(many)), max_tensors=4)
    with pytest.raises(InvalidIndex, match="too many tensors"):
        read_layout(ShardedFiles(index=index({f"t{i}": "s.safetensors" for i in range(5)}),
                                 shards={"s.safetensors": bytes_blob(many)}), max_tensors=4)
