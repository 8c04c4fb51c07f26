"""A safetensors checkpoint as the diff sees it: one file, or shards listed by an index.

The caller hands in *blobs*: a callable that opens the stored bytes from the start plus their
size (the size comes from the object store's index, never from the file, so a lying header is
caught against it). Nothing here knows where bytes live; the web layer passes byte-door openers.

Reading a layout touches only headers and the index (``8 + n`` bytes per file), so it is cheap
enough for a request; tensor data is read later, by the diff, range by range.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import BinaryIO

from repos.weights.bounded_json import JsonRejected, brief_repr, loads_bounded
from repos.weights.safetensors_header import (
    MAX_TENSORS,
    SafetensorsError,
    SafetensorsHeader,
    TensorInfo,
    parse_header,
    read_header_bytes,
)

Opener = Callable[[], BinaryIO]

# The name of the index transformers writes next to its shards.
INDEX_NAME = "model.safetensors.index.json"
# An index lists every tensor once (~100 bytes each); 64 MiB is ~600k tensors.
MAX_INDEX_SIZE = 64 * 1024 * 1024
MAX_SHARDS = 10_000
# Tensors in one checkpoint (all shards together). Per-file headers keep their own limit.
MAX_CHECKPOINT_TENSORS = 2 * MAX_TENSORS
_MAX_SHARD_NAME = 1024


@dataclass(frozen=True, slots=True)
class Blob:
    """One stored file. ``open()`` returns a new binary file object positioned at 0 (the caller
    closes nothing: the diff closes what it opened). ``size`` is the trusted byte size.

    ``key`` is an optional content identity (e.g. the LFS sha256): two blobs with the same
    non-empty key are promised to hold the same bytes, which lets a diff skip reading them.
    """

    open: Opener
    size: int
    key: str = ""


@dataclass(frozen=True, slots=True)
class SingleFile:
    """An unsharded checkpoint, e.g. ``model.safetensors``; ``name`` is only for display."""

    blob: Blob
    name: str = "model.safetensors"


@dataclass(frozen=True, slots=True)
class ShardedFiles:
    """A sharded checkpoint: the index (``weight_map``: tensor name -> shard file name) and the
    shards by the names the index uses (relative to the index's directory). Shards the index
    does not name are ignored; a named shard missing here is an error."""

    index: Blob
    shards: Mapping[str, Blob]
    name: str = INDEX_NAME


Checkpoint = SingleFile | ShardedFiles


@dataclass(frozen=True)
class CheckpointLayout:
    """Every tensor of a checkpoint and which file holds it.

    Invariants: every tensor's byte range lies inside its file (each header was validated
    against its blob's size); ``files`` and ``data_start`` hold exactly the files that
    ``file_of`` can return. Built without a per-tensor object, so it costs next to nothing
    beyond parsing the headers.
    """

    # name -> header entry; offsets are relative to the data section of the tensor's file.
    tensors: Mapping[str, TensorInfo]
    files: dict[str, Blob]
    # file -> absolute offset of its data section (8 + header length).
    data_start: dict[str, int]
    # name -> file for a sharded checkpoint; None when every tensor is in the one file.
    shard_of: Mapping[str, str] | None = None
    # Tensors present in shard headers but not in the index's weight_map: loaders never see
    # them, so neither does the diff; counted so the page can say so.
    unlisted: int = 0

    def file_of(self, name: str) -> str:
        if self.shard_of is None:
            return next(iter(self.files))
        return self.shard_of[name]

    def start_of(self, name: str) -> int:
        """Absolute offset of the tensor's first byte in its file."""
        return self.data_start[self.file_of(name)] + self.tensors[name].offsets[0]


class CheckpointError(ValueError):
    """A checkpoint cannot be read: ``side`` ("old"/"new", or "" outside a diff) and ``file``
    say where, the message says why. When a safetensors header was at fault, ``__cause__`` is
    the ``SafetensorsError`` (whose subclass names the kind of problem)."""

    def __init__(self, message: str, *, side: str = "", file: str = "") -> None:
        where = " ".join(part for part in (side, file) if part)
        super().__init__(f"{where}: {message}" if where else message)
        self.side = side
        self.file = file


class InvalidIndex(CheckpointError):
    """The shard index is not a usable ``weight_map`` (JSON, names, limits)."""


class MissingShard(CheckpointError):
    """The index names a shard the caller did not provide."""


class InconsistentCheckpoint(CheckpointError):
    """The index puts a tensor in a shard whose header does not contain it."""


class InvalidWeightsFile(CheckpointError):
    """A safetensors file is invalid or shorter than its header says."""


def read_layout(
    checkpoint: Checkpoint,
    *,
    side: str = "",
    max_tensors: int = MAX_CHECKPOINT_TENSORS,
    header_cache: dict[object, SafetensorsHeader] | None = None,
) -> CheckpointLayout:
    """Read the headers (and the index) of ``checkpoint``; no tensor data is read.

    ``header_cache`` (opaque keys) is filled as headers are read: a diff passes one dict for
    both sides, so a shard shared by old and new, or a header repeated byte for byte, is
    parsed once.
    Raises ``CheckpointError`` subclasses (labelled with ``side``); ``OSError`` from an opener
    propagates unchanged (a storage problem, not a property of the checkpoint).
    """
    cache = header_cache if header_cache is not None else {}
    if isinstance(checkpoint, SingleFile):
        header = _header(checkpoint.blob, side=side, file=checkpoint.name, cache=cache)
        if len(header.tensors) > max_tensors:
            raise InvalidWeightsFile(f"too many tensors: {len(header.tensors)} (limit {max_tensors})", side=side,
                                     file=checkpoint.name)
        return CheckpointLayout(header.tensors, {checkpoint.name: checkpoint.blob},
                                {checkpoint.name: header.data_start})

    weight_map = read_weight_map(checkpoint.index, side=side, file=checkpoint.name, max_tensors=max_tensors)
    by_shard: dict[str, list[str]] = {}
    for tensor, shard in weight_map.items():
        by_shard.setdefault(shard, []).append(tensor)
    if len(by_shard) > MAX_SHARDS:
        raise InvalidIndex(f"too many shards: {len(by_shard)} (limit {MAX_SHARDS})", side=side, file=checkpoint.name)
    missing = sorted(shard for shard in by_shard if shard not in checkpoint.shards)
    if missing:
        listed = ", ".join(brief_repr(name) for name in missing[:5])
        listed += f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise MissingShard(f"the index names shards that are not there: {listed}", side=side, file=checkpoint.name)

    tensors: dict[str, TensorInfo] = {}
    files: dict[str, Blob] = {}
    data_start: dict[str, int] = {}
    unlisted = 0
    # Shards in name order: files are opened in a stable order, and errors are reproducible.
    for shard in sorted(by_shard):
        blob = checkpoint.shards[shard]
        header = _header(blob, side=side, file=shard, cache=cache)
        files[shard] = blob
        data_start[shard] = header.data_start
        wanted = by_shard[shard]
        for tensor in wanted:
            info = header.tensors.get(tensor)
            if info is None:
                raise InconsistentCheckpoint(
                    f"the index puts tensor {brief_repr(tensor)} in {brief_repr(shard)}, whose header does not have it",
                    side=side,
                    file=checkpoint.name,
                )
            tensors[tensor] = info
        unlisted += len(header.tensors) - len(wanted)
    return CheckpointLayout(tensors, files, data_start, weight_map, unlisted)


def read_weight_map(index: Blob, *, side: str = "", file: str = INDEX_NAME,
                    max_tensors: int = MAX_CHECKPOINT_TENSORS) -> dict[str, str]:
    """The validated ``weight_map`` of a shard index: tensor name -> shard name.

    Shard names must be relative POSIX paths without ``.``/``..``/empty segments (they are
    user data that the caller will resolve to files next to the index).
    """
    def fail(message: str) -> InvalidIndex:
        return InvalidIndex(message, side=side, file=file)

    if index.size > MAX_INDEX_SIZE:
        raise fail(f"index too large: {index.size} bytes (limit {MAX_INDEX_SIZE})")
    with index.open() as f:
        raw = _read_all(f, index.size)
    if len(raw) != index.size:
        raise fail(f"index truncated: {len(raw)} of {index.size} bytes")
    try:
        parsed = loads_bounded(raw, max_depth=32, max_items=4 * max_tensors + 65_536)
    except JsonRejected as exc:
        raise fail(f"index is {exc}") from None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("weight_map"), dict):
        raise fail("index has no weight_map object")
    weight_map: dict[str, object] = parsed["weight_map"]
    if len(weight_map) > max_tensors:
        raise fail(f"too many tensors in weight_map: {len(weight_map)} (limit {max_tensors})")
    checked: dict[str, str] = {}
    for tensor, shard in weight_map.items():
        if not isinstance(shard, str) or not _is_safe_relative(shard):
            raise fail(f"weight_map[{brief_repr(tensor)}] is not a relative file name: {brief_repr(shard)}")
        checked[tensor] = shard
    return checked


def _is_safe_relative(name: str) -> bool:
    if not name or len(name) > _MAX_SHARD_NAME or "\\" in name or "\0" in name or name.startswith("/"):
        return False
    return all(part not in ("", ".", "..") for part in name.split("/")) and posixpath.normpath(name) == name


def _header(blob: Blob, *, side: str, file: str, cache: dict[object, SafetensorsHeader]) -> SafetensorsHeader:
    # Two cache keys: the blob's content key (skips even the read) and the header's own bytes
    # with the file size (skips the parse; a fine-tune usually keeps the header byte for byte).
    # A header is a pure function of both, so either hit is exactly what a parse would give.
    key = (blob.key, blob.size) if blob.key else None
    if key is not None and key in cache:
        return cache[key]
    try:
        with blob.open() as f:
            raw = read_header_bytes(f, blob.size)
        header = cache.get((raw, blob.size))
        if header is None:
            header = cache[(raw, blob.size)] = parse_header(raw, blob.size)
    except SafetensorsError as exc:
        raise InvalidWeightsFile(str(exc), side=side, file=file) from exc
    if key is not None:
        cache[key] = header
    return header


def _read_all(f: BinaryIO, limit: int) -> bytes:
    parts: list[bytes] = []
    remaining = limit
    while remaining > 0:
        chunk = f.read(min(remaining, 1024 * 1024))
        if not chunk:
            break
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)
