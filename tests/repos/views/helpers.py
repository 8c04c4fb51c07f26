"""Helpers for the HTML page tests: real git content and LFS objects."""
from __future__ import annotations

import hashlib
import io
import json
import struct

from repos.git.commit import PutFile, Signature, commit_to_ref
from repos.handles import git_repo
from repos.lfs.pointer import format_pointer
from repos.models import LfsObject, RepoLfsObject, Repository
from repos.objects import storage_backend
from repos.services.index import repo_reindex


def commit_files(repo: Repository, files: dict[str, bytes], message: str = "Add files",
                 author: str = "alice") -> str:
    git = git_repo(repo)
    sha = commit_to_ref(git, ref=repo.default_branch, ops=[PutFile(p, d) for p, d in files.items()],
                        author=Signature(author, f"{author}@example.com"), message=message)
    repo_reindex(repo=repo, git=git)
    return sha


def put_lfs(repo: Repository, data: bytes) -> bytes:
    """Store `data` as an LFS object of `repo`; return its pointer blob."""
    oid = hashlib.sha256(data).hexdigest()
    if not storage_backend().exists(oid):
        storage_backend().write_stream(oid, len(data), io.BytesIO(data))
    obj, _ = LfsObject.objects.get_or_create(oid=oid, defaults={"size": len(data)})
    RepoLfsObject.objects.get_or_create(repository=repo, lfs_object=obj)
    return format_pointer(oid, len(data))


def safetensors_bytes(tensors: dict[str, tuple[str, list[int]]], metadata: dict[str, str] | None = None) -> bytes:
    """A valid safetensors file with zeroed data."""
    sizes = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8}
    header: dict[str, object] = {}
    offset = 0
    for name, (dtype, shape) in tensors.items():
        n = sizes[dtype]
        for d in shape:
            n *= d
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    if metadata:
        header["__metadata__"] = metadata
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + b"\0" * offset
