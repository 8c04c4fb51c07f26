"""Builders for the read-API tests: repositories with real git commits and LFS objects."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from accounts.models import User
from accounts.services.tokens import token_create
from repos.git.commit import DeleteFile, PutFile, commit_to_ref
from repos.handles import git_repo
from repos.lfs.pointer import format_pointer
from repos.models import LfsObject, RepoLfsObject, Repository
from repos.objects import storage_backend
from repos.services.index import repo_reindex
from repos.services.repos import author_signature, repo_create

CONFIG = b'{"model_type": "bert"}\n'  # HF_PROTOCOL.md §2.8: git oid dc1fb7b...
CONFIG_OID = "dc1fb7b6703fe03317c1a080b523bf475f3d4818"
ZEROS = bytes(1024)
ZEROS_SHA256 = "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
ZEROS_POINTER_OID = "abc8240e440587e9d4b59102163573492833ac8a"


def bearer(user: User, role: str = "write") -> dict[str, str]:
    _token, key = token_create(user=user, name="test", role=role)
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def store_lfs(repo: Repository | None, data: bytes) -> str:
    """Put `data` in the LFS store and link it to `repo`; return its sha256."""
    oid = hashlib.sha256(data).hexdigest()
    storage_backend().write_stream(oid, len(data), [data])
    obj, _ = LfsObject.objects.get_or_create(oid=oid, defaults={"size": len(data)})
    if repo is not None:
        RepoLfsObject.objects.get_or_create(repository=repo, lfs_object=obj)
    return oid


def commit(repo: Repository, *, files: dict[str, bytes] | None = None, lfs: dict[str, bytes] | None = None,
           delete: tuple[str, ...] = (), ref: str = "main", message: str = "Add files",
           link_lfs: bool = True, create: bool = False) -> str:
    """Commit regular files, LFS files (object stored, pointer committed) and deletions."""
    git = git_repo(repo)
    ops: list = [PutFile(p, d) for p, d in (files or {}).items()]
    for path, data in (lfs or {}).items():
        oid = store_lfs(repo if link_lfs else None, data)
        ops.append(PutFile(path, format_pointer(oid, len(data))))
    ops += [DeleteFile(p) for p in delete]
    sha = commit_to_ref(git, ref=ref, ops=ops, author=author_signature(repo.owner), message=message, create=create)
    repo_reindex(repo=repo, git=git)
    return sha


@dataclass
class Seeded:
    repo: Repository
    sha: str


def seeded_model(user: User, name: str = "tiny-bert", *, private: bool = False, namespace: str | None = None) -> Seeded:
    """`config.json`, an LFS `model.safetensors` (1024 zero bytes) and a nested folder."""
    repo = repo_create(user=user, namespace=namespace or user.username, name=name, private=private)
    sha = commit(repo, files={"config.json": CONFIG, "tokenizer/vocab.txt": b"a\nb\n",
                              "README.md": b"---\nlicense: mit\ntags: [bert]\npipeline_tag: fill-mask\n---\n# hi\n"},
                 lfs={"model.safetensors": ZEROS}, message="Upload model\n\nWith a description & <tags>")
    repo.refresh_from_db()
    return Seeded(repo=repo, sha=sha)
