"""Builders for the weight tests: checkpoints on disk as blobs, and an independent oracle."""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from safetensors.numpy import save_file

from repos.weights.checkpoint import INDEX_NAME, Blob, ShardedFiles, SingleFile


def build(header: Any, data: bytes = b"", *, raw_header: bytes | None = None, length: int | None = None) -> bytes:
    """A safetensors file: length prefix (the real one unless ``length``), header, data."""
    body = raw_header if raw_header is not None else json.dumps(header).encode()
    n = len(body) if length is None else length
    return struct.pack("<Q", n) + body + data


def file_blob(path: Path, *, key: str = "", opened: list[str] | None = None) -> Blob:
    def opener() -> BinaryIO:
        if opened is not None:
            opened.append(path.name)
        return path.open("rb")

    return Blob(open=opener, size=path.stat().st_size, key=key)


def bytes_blob(data: bytes, *, key: str = "") -> Blob:
    return Blob(open=lambda: io.BytesIO(data), size=len(data), key=key)


def single(directory: Path, name: str, tensors: Mapping[str, np.ndarray]) -> SingleFile:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    save_file(dict(tensors), str(path))
    return SingleFile(file_blob(path), name=name)


def sharded(
    directory: Path,
    shards: Sequence[Mapping[str, Any]],
    *,
    save: Callable[[dict[str, Any], str], None] | None = None,
) -> ShardedFiles:
    """A transformers-style sharded checkpoint: model-0000i-of-0000n.safetensors + index."""
    directory.mkdir(parents=True, exist_ok=True)
    writer = save or (lambda tensors, path: save_file(tensors, path))
    weight_map: dict[str, str] = {}
    blobs: dict[str, Blob] = {}
    for i, tensors in enumerate(shards, start=1):
        name = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
        writer(dict(tensors), str(directory / name))
        weight_map.update(dict.fromkeys(tensors, name))
        blobs[name] = file_blob(directory / name)
    index = directory / INDEX_NAME
    index.write_text(json.dumps({"metadata": {"total_size": 0}, "weight_map": weight_map}))
    return ShardedFiles(index=file_blob(index), shards=blobs)


def oracle(a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    """What the diff must report for one tensor pair, computed directly in float64.

    ``a``/``b`` are the tensors as loaded by the reference library (any numeric dtype); bit
    patterns decide which elements changed, values decide the sizes.
    """
    bits = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}[a.dtype.itemsize]
    changed = np.ascontiguousarray(a).view(bits) != np.ascontiguousarray(b).view(bits)
    a64, b64 = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    finite_a, finite_b = np.isfinite(a64), np.isfinite(b64)
    both = finite_a & finite_b
    diff = b64[both] - a64[both]
    l2_old = float(np.linalg.norm(a64[finite_a]))
    l2_diff = float(np.linalg.norm(diff))
    return {
        "elements": a.size,
        "changed_elements": int(np.count_nonzero(changed)),
        "max_abs_diff": float(np.max(np.abs(diff))) if diff.size else 0.0,
        "l2_old": l2_old,
        "l2_new": float(np.linalg.norm(b64[finite_b])),
        "l2_diff": l2_diff,
        "rel_l2": l2_diff / l2_old if l2_old else (0.0 if l2_diff == 0 else None),
        "nonfinite_changed": int(np.count_nonzero(changed.ravel() & ~both)),
    }
