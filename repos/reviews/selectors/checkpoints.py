"""Safetensors checkpoints of two commits, as `repos.weights` blobs read through the byte door.

Which checkpoints a change touches: a changed `*.safetensors` file is a checkpoint of its own,
unless its folder holds a `model.safetensors.index.json` (in either commit), in which case the
sharded checkpoint of that index is (changing one shard or the index changes it). Blobs:
an LFS file opens through `repos.objects.find(repo=, oid=)` (never read whole: the diff reads
ranges), its key the LFS sha256; a small regular git blob (at most the hub's regular-file
limit) is served from git.
"""
from __future__ import annotations

import hashlib
import io
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass

from repos import objects
from repos.git.repository import GitRepo, TreeEntry
from repos.models import Repository
from repos.selectors.files import lfs_pointer_of
from repos.weights.checkpoint import (
    INDEX_NAME,
    Blob,
    Checkpoint,
    CheckpointError,
    ShardedFiles,
    SingleFile,
    read_weight_map,
)

SAFETENSORS = ".safetensors"
MAX_CHECKPOINTS = 50


class MissingObject(CheckpointError):
    """A weight file's LFS object is not readable on this hub (never uploaded, or purged)."""


@dataclass(frozen=True)
class CheckpointPair:
    """One checkpoint on both sides of a change; a side's path is None when it does not exist
    there (the checkpoint was added or removed)."""

    kind: str  # "single" | "sharded"
    old_path: str | None
    new_path: str | None

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or ""


def changed_checkpoints(*, git: GitRepo, old_sha: str | None, new_sha: str,
                        changed: Iterable[tuple[str, str | None]]) -> list[CheckpointPair]:
    """The checkpoints touched by `changed` ((path, old path) of each changed file)."""
    pairs: dict[str, CheckpointPair] = {}
    for path, old_path in changed:
        before = old_path or path
        if posixpath.basename(path) == INDEX_NAME:
            index = path
        elif path.endswith(SAFETENSORS):
            index = posixpath.join(posixpath.dirname(path), INDEX_NAME)
            if not _exists(git, new_sha, index) and not _exists(git, old_sha, index):
                pairs.setdefault(path, CheckpointPair("single", before if _exists(git, old_sha, before) else None,
                                                      path if _exists(git, new_sha, path) else None))
                continue
        else:
            continue
        pairs.setdefault(index, CheckpointPair("sharded", index if _exists(git, old_sha, index) else None,
                                               index if _exists(git, new_sha, index) else None))
        if len(pairs) >= MAX_CHECKPOINTS:
            break
    return sorted(pairs.values(), key=lambda p: p.path)


def _exists(git: GitRepo, sha: str | None, path: str) -> bool:
    if sha is None:
        return False
    entry = git.get_entry(sha, path)
    return entry is not None and entry.type == "file"


def _blob(*, repo: Repository, git: GitRepo, entry: TreeEntry) -> Blob:
    pointer = lfs_pointer_of(git, entry)
    if pointer is None:
        oid = entry.oid
        return Blob(open=lambda: io.BytesIO(git.read_blob(oid)), size=entry.size, key=f"git:{oid}")
    found = objects.find(repo=repo, oid=pointer.oid)
    if found is None:
        raise MissingObject(f"the LFS object {pointer.oid} is not stored on this hub", file=entry.path)
    return Blob(open=found.open, size=found.size, key=pointer.oid)


def checkpoint_at(*, repo: Repository, git: GitRepo, sha: str, kind: str, path: str) -> tuple[Checkpoint, str]:
    """The checkpoint at `path` of commit `sha`, and its content key (what the cache of diffs is
    keyed by: the LFS sha256 of a single file, a digest of the index and shard keys)."""
    entry = git.get_entry(sha, path)
    if entry is None or entry.type != "file":
        raise CheckpointError("missing", file=path)
    blob = _blob(repo=repo, git=git, entry=entry)
    if kind == "single":
        return SingleFile(blob, name=path), blob.key
    folder = posixpath.dirname(path)
    shards: dict[str, Blob] = {}
    for shard in sorted(set(read_weight_map(blob, file=path).values())):
        shard_entry = git.get_entry(sha, posixpath.join(folder, shard))
        if shard_entry is not None and shard_entry.type == "file":
            shards[shard] = _blob(repo=repo, git=git, entry=shard_entry)
    digest = hashlib.sha256(blob.key.encode())
    for name, shard_blob in sorted(shards.items()):
        digest.update(b"\0" + name.encode() + b"\0" + shard_blob.key.encode())
    return ShardedFiles(index=blob, shards=shards, name=path), digest.hexdigest()
