"""Writes that `commit.py` does not cover: loose blobs, tags and squashed history.

* `write_blob` lets a caller stream a commit's file contents into the object database as
  they arrive (then commit them with `PutBlob`), so a commit of many files never holds them
  all in memory. An unreferenced blob changes nothing visible; `git gc` prunes it.
* `create_tag` writes lightweight or annotated tags through `update_ref`'s create-only CAS.
* `squash_ref` replaces a ref by one parentless commit of the same tree (HF super-squash).
"""
from __future__ import annotations

import time

import pygit2
from pygit2.enums import ObjectType

from repos.git.commit import Signature, _clean_message, _signature, update_ref, write_commit
from repos.git.errors import RefNotFound, RevisionNotFound
from repos.git.lock import repo_lock
from repos.git.paths import validate_ref_name, validate_tag_name
from repos.git.repository import GitRepo


def write_blob(repo: GitRepo, data: bytes) -> str:
    """Store `data` as a blob and return its sha (no ref moves; safe without the lock)."""
    return str(repo.raw.create_blob(bytes(data)))


def _signature_line(sig: pygit2.Signature) -> str:
    offset = sig.offset
    sign = "-" if offset < 0 else "+"
    hours, minutes = divmod(abs(offset), 60)
    return f"{sig.name} <{sig.email}> {sig.time} {sign}{hours:02d}{minutes:02d}"


def create_tag(
    repo: GitRepo,
    *,
    name: str,
    target: str,
    tagger: Signature,
    message: str | None = None,
    timeout: float = 30.0,
) -> str:
    """Create `refs/tags/<name>` at commit `target` (a full sha); annotated if `message`.

    Returns the sha the ref points to (the tag object for annotated tags). Raises
    InvalidRefName, RevisionNotFound (unknown target) and RefExists.
    """
    validate_tag_name(name)
    commit = repo.get_commit(target)
    ref = f"refs/tags/{name}"
    new = str(commit.id)
    if message:
        # Built by hand rather than with libgit2's git_tag_create, which would also create
        # the ref outside update_ref's lock-then-compare protocol.
        sig = _signature(tagger, int(time.time()))
        raw = (
            f"object {commit.id}\ntype commit\ntag {name}\ntagger {_signature_line(sig)}\n\n"
            f"{_clean_message(message)}"
        )
        new = str(repo.raw.odb.write(ObjectType.TAG, raw.encode("utf-8")))
    update_ref(repo, ref, new, expected_old=None, reflog_message=f"tag: {name}", who=tagger,
               timeout=timeout)
    return new


def squash_ref(
    repo: GitRepo,
    *,
    ref: str,
    author: Signature,
    message: str,
    timeout: float = 30.0,
) -> str:
    """Point `ref` (a full ref name) at one new parentless commit holding its current tree.

    Other refs keep the old history. Raises RevisionNotFound if `ref` does not exist.
    """
    validate_ref_name(ref)
    with repo_lock(repo.path, timeout):
        current = repo.refs(ref).get(ref)
        if current is None:
            raise RevisionNotFound(f"Invalid rev id: {ref}")
        tree_id = repo.get_commit(current).tree_id
        now = int(time.time())
        sig = _signature(author, now)
        new = str(write_commit(repo.raw, author=sig, committer=sig, message=_clean_message(message), tree=tree_id,
                               parents=[]))
        update_ref(repo, ref, new, expected_old=current, reflog_message="super-squash", who=author,
                   timeout=timeout)
        return new


def delete_ref(repo: GitRepo, *, ref: str, who: Signature, timeout: float = 30.0) -> str:
    """Delete `ref` whatever it points to (annotated tags point at tag objects, which the
    peeled values of `GitRepo.refs` hide). Returns the old target; RefNotFound if absent."""
    validate_ref_name(ref)
    with repo_lock(repo.path, timeout):
        try:
            reference = repo.raw.references.get(ref)
        except (KeyError, ValueError, pygit2.GitError):
            reference = None
        if reference is None or not isinstance(reference.target, pygit2.Oid):
            raise RefNotFound(f"Invalid rev id: {ref}")
        old = str(reference.target)
        update_ref(repo, ref, None, expected_old=old, reflog_message="delete", who=who, timeout=timeout)
        return old
