"""Writes: commits built in the object database, and compare-and-swap ref updates.

A commit is built from its parent's tree and a list of operations without any work tree or
on-disk index: only the folders on the paths the operations touch are read and rewritten,
everything else keeps its tree object id. That makes a commit's cost proportional to what it
changes, not to the size of the repository.

Refs are moved with libgit2 reference transactions, which use git's own lockfile protocol
(`<ref>.lock` created with O_EXCL, renamed over the ref). `git receive-pack` and
`git update-ref` use the same protocol, so a push landing between our read of a ref and our
update makes the update fail with RefConflict instead of silently overwriting the push.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pygit2
from pygit2.enums import FileMode, ObjectType, ReferenceType

from repos.git.errors import (
    EntryNotFound,
    GitError,
    InvalidPath,
    RefConflict,
    RefExists,
    RepoLocked,
    RevisionNotFound,
)
from repos.git.lock import repo_lock
from repos.git.paths import normalize_folder_path, normalize_repo_path, validate_ref_name
from repos.git.repository import GitRepo

_HEX40_RE = re.compile(r"[0-9a-f]{40}")
_HEX_PREFIX_RE = re.compile(r"[0-9a-f]{5,40}")

_TREE = int(FileMode.TREE)
_BLOB = int(FileMode.BLOB)
_BLOB_EXECUTABLE = int(FileMode.BLOB_EXECUTABLE)

# How long to wait for a git ref lockfile held by another process. `git receive-pack` holds
# one for milliseconds; a lockfile that stays longer is stale (a crashed git) and needs a
# human, so waiting the full repo-lock timeout for it would only delay the error.
REF_LOCK_TIMEOUT = 5.0


# ---------------------------------------------------------------------- operations


@dataclass(frozen=True)
class PutFile:
    """Create or replace the file at `path` with `data`."""

    path: str
    data: bytes
    executable: bool = False


@dataclass(frozen=True)
class PutBlob:
    """Create or replace the file at `path` with an existing blob (e.g. an uploaded LFS pointer
    already written, or a file copied from another path or revision)."""

    path: str
    blob_oid: str
    executable: bool = False


@dataclass(frozen=True)
class DeleteFile:
    """Delete the file at `path`; it must exist. A folder at `path` is deleted with its
    content (the Hub reads `deletedFile` on a folder that way)."""

    path: str


@dataclass(frozen=True)
class DeleteFolder:
    """Delete the folder at `path` with everything below it; it must exist and be a folder."""

    path: str


Operation = PutFile | PutBlob | DeleteFile | DeleteFolder


@dataclass(frozen=True)
class Signature:
    """Who wrote a commit. Values are sanitized, not rejected, when the commit is made."""

    name: str
    email: str


# Recorded in reflogs for ref moves that name nobody (e.g. maintenance).
_HUB_IDENTITY = Signature("ModelHub", "hub@localhost")


# ---------------------------------------------------------------------- tree building


class _MutableTree:
    """A folder being edited: entries are loaded from the base tree on first access and
    subfolders are only expanded when an operation descends into them."""

    __slots__ = ("_repo", "_base", "_entries", "dirty")

    def __init__(self, repo: pygit2.Repository, base: pygit2.Tree | None) -> None:
        self._repo = repo
        self._base = base
        self._entries: dict[str, tuple[pygit2.Oid, int] | _MutableTree] | None = None
        self.dirty = False

    @property
    def entries(self) -> dict[str, tuple[pygit2.Oid, int] | _MutableTree]:
        if self._entries is None:
            self._entries = {}
            if self._base is not None:
                for obj in self._base:
                    self._entries[obj.name or ""] = (obj.id, int(obj.filemode))
        return self._entries

    def child(self, name: str) -> _MutableTree | tuple[pygit2.Oid, int] | None:
        """The entry `name`, with a folder expanded into a _MutableTree."""
        entry = self.entries.get(name)
        if isinstance(entry, tuple) and entry[1] == _TREE:
            subtree = self._repo[entry[0]]
            assert isinstance(subtree, pygit2.Tree)
            entry = _MutableTree(self._repo, subtree)
            self.entries[name] = entry
        return entry

    def write(self) -> pygit2.Oid | None:
        """Write this folder (and edited subfolders); None when it ended up empty.

        Git cannot represent an empty folder, so a folder emptied by deletions disappears,
        recursively, like it would with `git rm`.
        """
        if not self.dirty:
            if self._base is not None:
                return self._base.id
            return None
        builder = self._repo.TreeBuilder()
        for name, entry in self.entries.items():
            if isinstance(entry, _MutableTree):
                oid = entry.write()
                if oid is not None:
                    builder.insert(name, oid, _TREE)
            else:
                builder.insert(name, entry[0], entry[1])
        if len(builder) == 0:
            return None
        return builder.write()


def _descend(
    root: _MutableTree, parts: list[str], *, create: bool, path: str
) -> list[_MutableTree] | None:
    """The chain of folders from `root` to the parent of `parts[-1]`.

    With `create`, missing folders are created; a file in the way is an InvalidPath. Without
    it, a missing folder (or a file in the way) returns None.
    """
    chain = [root]
    node = root
    for i, name in enumerate(parts[:-1]):
        entry = node.child(name)
        if entry is None:
            if not create:
                return None
            entry = _MutableTree(node._repo, None)
            node.entries[name] = entry
        elif not isinstance(entry, _MutableTree):
            if not create:
                return None
            prefix = "/".join(parts[: i + 1])
            raise InvalidPath(f"Cannot create {path!r}: {prefix!r} is a file")
        node = entry
        chain.append(node)
    return chain


def _mark_dirty(chain: list[_MutableTree]) -> None:
    for node in chain:
        node.dirty = True


def _check_blob(repo: pygit2.Repository, oid: str) -> pygit2.Oid:
    if not isinstance(oid, str) or not _HEX40_RE.fullmatch(oid.lower()):
        raise EntryNotFound(f"Blob not found: {oid!r}")
    try:
        kind, _ = repo.odb.read_header(oid.lower())
    except (KeyError, ValueError, pygit2.GitError):
        raise EntryNotFound(f"Blob not found: {oid!r}") from None
    if kind != ObjectType.BLOB:
        raise EntryNotFound(f"Not a blob: {oid!r}")
    return pygit2.Oid(hex=oid.lower())


def _normalized(op: Operation) -> Operation:
    """The operation with its path in canonical form (InvalidPath if it has none)."""
    if isinstance(op, PutFile):
        if not isinstance(op.data, (bytes, bytearray, memoryview)):
            raise TypeError("PutFile.data must be bytes")
        data = op.data if isinstance(op.data, bytes) else bytes(op.data)
        return PutFile(normalize_repo_path(op.path), data, op.executable)
    if isinstance(op, PutBlob):
        return PutBlob(normalize_repo_path(op.path), op.blob_oid, op.executable)
    if isinstance(op, DeleteFile):
        return DeleteFile(normalize_repo_path(op.path))
    if isinstance(op, DeleteFolder):
        return DeleteFolder(normalize_folder_path(op.path))
    raise TypeError(f"Unknown commit operation: {op!r}")


def _apply(repo: pygit2.Repository, root: _MutableTree, op: Operation) -> None:
    parts = op.path.split("/")
    name = parts[-1]
    if isinstance(op, (PutFile, PutBlob)):
        if isinstance(op, PutFile):
            oid = repo.create_blob(op.data)
        else:
            oid = _check_blob(repo, op.blob_oid)
        chain = _descend(root, parts, create=True, path=op.path)
        assert chain is not None
        parent = chain[-1]
        existing = parent.child(name)
        if isinstance(existing, _MutableTree):
            raise InvalidPath(f"Cannot create file {op.path!r}: a folder with this name exists")
        parent.entries[name] = (oid, _BLOB_EXECUTABLE if op.executable else _BLOB)
        _mark_dirty(chain)
        return

    chain = _descend(root, parts, create=False, path=op.path)
    existing = chain[-1].child(name) if chain is not None else None
    if isinstance(op, DeleteFile):
        # A file deletion naming a folder deletes the folder, as on the Hub: huggingface_hub's
        # CommitOperationDelete("1") (no trailing slash) sends `deletedFile` for folder "1".
        if chain is None or existing is None:
            raise EntryNotFound(f"A file with this name doesn't exist: {op.path}")
    else:
        if chain is None or not isinstance(existing, _MutableTree):
            raise EntryNotFound(f"A folder with this name doesn't exist: {op.path}")
    assert chain is not None
    del chain[-1].entries[name]
    _mark_dirty(chain)


def _sanitize(value: str, fallback: str) -> str:
    # git's signature format is `name <email> time tz`: angle brackets, newlines and NULs in
    # a display name would corrupt the object (libgit2 refuses them). Strip, don't reject:
    # these come from user profiles, and a commit must not fail over a display name.
    cleaned = re.sub(r"[<>\x00-\x1f\x7f]", "", value or "").strip()
    return cleaned or fallback


def _signature(sig: Signature, when: int) -> pygit2.Signature:
    # Offset 0: the hub records UTC; readers render in the viewer's timezone.
    return pygit2.Signature(
        _sanitize(sig.name, "unknown"), _sanitize(sig.email, ""), when, 0
    )


def _clean_message(message: str) -> str:
    # Like `git commit`'s default cleanup: no trailing whitespace, one final newline. NULs
    # would make the commit unreadable to tools that treat the message as a C string.
    text = message.replace("\x00", "").rstrip()
    return f"{text}\n" if text else ""


def build_commit(
    repo: GitRepo,
    *,
    parent: str | None,
    ops: Sequence[Operation],
    author: Signature,
    message: str,
    committer: Signature | None = None,
) -> str:
    """Write the commit `parent` + `ops` to the object database and return its sha.

    Moves no ref (see `update_ref` / `commit_to_ref`). Operations apply in order, each seeing
    the previous ones. All paths are validated before any object is written. May produce a
    commit whose tree equals its parent's: whether that is an error is the caller's call.

    Raises InvalidPath (bad path, file/folder collision), EntryNotFound (deleting something
    that does not exist, unknown blob) and RevisionNotFound (unknown parent).
    """
    raw = repo.raw
    normalized = [_normalized(op) for op in ops]
    if parent is None:
        root = _MutableTree(raw, None)
        parents: list[pygit2.Oid] = []
    else:
        parent_commit = repo.get_commit(parent)
        root = _MutableTree(raw, parent_commit.tree)
        parents = [parent_commit.id]
    for op in normalized:
        _apply(raw, root, op)
    tree_id = root.write()
    if tree_id is None:
        # Everything was deleted (or a root commit with no files): the empty tree.
        tree_id = raw.TreeBuilder().write()
    now = int(time.time())
    oid = write_commit(
        raw,
        author=_signature(author, now),
        committer=_signature(committer or author, now),
        message=_clean_message(message),
        tree=tree_id,
        parents=parents,
    )
    return str(oid)


def write_commit(raw: pygit2.Repository, *, author: pygit2.Signature, committer: pygit2.Signature, message: str,
                 tree: pygit2.Oid, parents: Sequence[pygit2.Oid]) -> pygit2.Oid:
    """Write a commit object and return its id, or raise the write's error.

    `Repository.create_commit` (pygit2 1.21, libgit2 1.9) returns the id of a commit it
    failed to write - on a full disk - without an error, and a ref could then be pointed at
    nothing; the same bytes written through the object database raise the OSError.
    """
    # pygit2's stub says Oid; it returns the commit's text.
    data = cast(str, raw.create_commit_string(author, committer, message, tree, list(parents)))
    return raw.odb.write(ObjectType.COMMIT, data)


# ---------------------------------------------------------------------- ref updates


def _current_target(raw: pygit2.Repository, ref: str) -> str | None:
    try:
        reference = raw.references.get(ref)
    except (KeyError, ValueError, pygit2.GitError) as exc:
        raise GitError(f"Cannot read {ref}: {exc}") from exc
    if reference is None:
        return None
    if reference.type != ReferenceType.DIRECT:
        raise GitError(f"{ref} is a symbolic reference; refusing to update it")
    return str(reference.target)


def _check_new_target(raw: pygit2.Repository, ref: str, new: str) -> str:
    if not isinstance(new, str) or not _HEX40_RE.fullmatch(new.lower()):
        raise RevisionNotFound(f"Invalid target for {ref}: {new!r} is not a full commit sha")
    new = new.lower()
    try:
        kind, _ = raw.odb.read_header(new)
    except (KeyError, ValueError, pygit2.GitError):
        raise RevisionNotFound(f"Object not found: {new}") from None
    # Only tags may point at annotated tag objects; branches, PR refs and anything else must
    # point at commits, or every reader would have to handle the odd case.
    allowed = {ObjectType.COMMIT, ObjectType.TAG} if ref.startswith("refs/tags/") else {
        ObjectType.COMMIT
    }
    if kind not in allowed:
        raise RevisionNotFound(f"Invalid target for {ref}: {new} is not a commit")
    return new


def _check_namespace(raw: pygit2.Repository, ref: str) -> None:
    # `refs/heads/a` and `refs/heads/a/b` cannot coexist (one is a file, the other needs a
    # directory of the same name). Say so clearly instead of failing inside libgit2.
    for name in raw.listall_references():
        if name.startswith(ref + "/") or ref.startswith(name + "/"):
            raise RefExists(f"Cannot create {ref}: it conflicts with the existing ref {name}")


def _set_target(
    txn: pygit2.ReferenceTransaction,
    ref: str,
    new: str,
    who: pygit2.Signature,
    message: str,
) -> None:
    """`txn.set_target(ref, new, signature=who, message=message)`, working around pygit2.

    pygit2 1.21 hands libgit2 `Signature._pointer` (the pointer's bytes) where a
    `git_signature *` is expected, so passing any signature raises TypeError; without one the
    reflog names whoever the server's git config says. Make the same libgit2 call with the
    pointer unpacked (pygit2's own idiom, see `pygit2.filter`) so the reflog records who moved
    the ref. If pygit2's internals ever change, fall back to the identity-less call.
    """
    try:
        from pygit2.errors import check_error
        from pygit2.ffi import C, ffi

        tx = txn._tx
        c_sig = ffi.new("git_signature **")
        ffi.buffer(c_sig)[:] = who._pointer[:]
    except (ImportError, AttributeError, TypeError, ValueError):
        txn.set_target(ref, new, message=message)
        return
    if tx is None:
        raise GitError("Reference transaction already closed")
    c_oid = ffi.new("git_oid *")
    ffi.buffer(c_oid)[:] = pygit2.Oid(hex=new).raw
    c_ref = ffi.new("char[]", ref.encode("utf-8"))
    c_msg = ffi.new("char[]", message.encode("utf-8", errors="replace"))
    check_error(C.git_transaction_set_target(tx, c_ref, c_oid, c_sig[0], c_msg))


def _delete_reflog(git_dir: Path, ref: str) -> None:
    logs = git_dir / "logs"
    log = logs / ref
    try:
        log.unlink()
    except FileNotFoundError:
        return
    # Prune directories the reflog leaves empty, up to (excluding) logs/refs/<kind>.
    parent = log.parent
    while parent != logs and len(parent.relative_to(logs).parts) > 2:
        try:
            parent.rmdir()
        except OSError:
            break  # not empty (or gone): stop
        parent = parent.parent


def _lock_ref(txn: pygit2.ReferenceTransaction, repo: GitRepo, ref: str, wait: float) -> None:
    """Take git's lockfile for `ref`, waiting a little for another git process to finish."""
    lockfile = repo.path / f"{ref}.lock"
    deadline = time.monotonic() + wait
    delay = 0.005
    retried_without_lockfile = False
    while True:
        try:
            txn.lock_ref(ref)
            return
        except pygit2.GitError as exc:
            if not lockfile.exists():
                # Either the holder just released it (retry once) or the failure is not
                # contention at all (permissions, a broken ref directory).
                if retried_without_lockfile:
                    raise GitError(f"Cannot lock {ref}: {exc}") from exc
                retried_without_lockfile = True
                continue
            if time.monotonic() >= deadline:
                raise RepoLocked(
                    f"{ref} is being updated by another process (lockfile {lockfile.name} "
                    "exists); retry later"
                ) from exc
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def update_ref(
    repo: GitRepo,
    ref: str,
    new: str | None,
    *,
    expected_old: str | None,
    reflog_message: str | None = None,
    who: Signature | None = None,
    timeout: float = 30.0,
) -> None:
    """Atomically set `ref` to `new` (None deletes it) if it currently is `expected_old`.

    `expected_old=None` means "the ref must not exist" (create). Raises RefExists when
    creating a ref that exists (or collides with one), RefConflict when the ref's value is
    not `expected_old` (including when it no longer exists), InvalidRefName, RevisionNotFound
    for an unknown or unsuitable `new`, and RepoLocked. Takes the repo lock itself.
    `reflog_message` and `who` (default: ModelHub) are recorded in the ref's reflog.
    """
    validate_ref_name(ref)
    raw = repo.raw
    if new is not None:
        new = _check_new_target(raw, ref, new)
    if expected_old is not None:
        if not isinstance(expected_old, str) or not _HEX40_RE.fullmatch(expected_old.lower()):
            raise RefConflict(f"Expected value of {ref} must be a full sha, got {expected_old!r}")
        expected_old = expected_old.lower()
    message = reflog_message or ("delete" if new is None else "update") + " by ModelHub"
    reflog_who = _signature(who or _HUB_IDENTITY, int(time.time()))

    with repo_lock(repo.path, timeout):
        if new is not None and _current_target(raw, ref) is None:
            # Before locking: libgit2 cannot even create the lockfile of `a` while `a/b`
            # exists. A ref created in between is caught by the comparison below.
            _check_namespace(raw, ref)
        try:
            with raw.transaction() as txn:
                # Lock first, read second: once we hold `<ref>.lock` no git process can move
                # the ref, so the comparison below stays true until the rename in commit().
                _lock_ref(txn, repo, ref, min(timeout, REF_LOCK_TIMEOUT))
                current = _current_target(raw, ref)
                if current != expected_old:
                    if expected_old is None:
                        raise RefExists(f"Reference already exists: {ref}")
                    if current is None:
                        raise RefConflict(f"{ref} no longer exists (expected {expected_old})")
                    raise RefConflict(
                        f"{ref} was updated concurrently: it is {current}, "
                        f"expected {expected_old}"
                    )
                if new is None:
                    if current is None:
                        return  # deleting a ref that does not exist, as expected: nothing to do
                    txn.remove(ref)
                    # libgit2 keeps the reflog of a deleted ref; git deletes it (a recreated
                    # branch must not inherit old history, and a stale `logs/refs/heads/a/b`
                    # would block creating `refs/heads/a`). Done while we hold the ref lock.
                    _delete_reflog(repo.path, ref)
                else:
                    _set_target(txn, ref, new, reflog_who, message)
                # Leaving the block commits the transaction (renames the lockfile).
        except pygit2.GitError as exc:
            raise GitError(f"Could not update {ref}: {exc}") from exc


# ---------------------------------------------------------------------- high-level commits


def _full_ref(ref: str) -> str:
    # A short name is a branch: `main` -> `refs/heads/main`. Branch names cannot start with
    # "refs/" (validate_branch_name), so the two spellings never collide.
    full = ref if ref.startswith("refs/") else f"refs/heads/{ref}"
    return validate_ref_name(full)


def commit_to_ref(
    repo: GitRepo,
    *,
    ref: str,
    ops: Sequence[Operation],
    author: Signature,
    message: str,
    expected_head: str | None = None,
    create: bool = False,
    committer: Signature | None = None,
    timeout: float = 30.0,
    before_update: Callable[[str], None] | None = None,
) -> str:
    """Commit `ops` on top of `ref` and move `ref` to the new commit; return its sha.

    `before_update(new_sha)` runs under the lock once the commit is built and before the ref
    moves: the caller's last word (authorization, tree limits); it raises to refuse.

    `ref` is a full ref (`refs/heads/main`, `refs/pr/3`) or a branch short name. Under the
    repo lock: read the head (RevisionNotFound if the ref is missing, unless `create`, which
    makes a root commit), check `expected_head` (a 5 to 40 hex prefix; RefConflict if the head
    is something else, like HF's `parent_commit`), build the commit, compare-and-swap the ref.
    """
    full = _full_ref(ref)
    with repo_lock(repo.path, timeout):
        current = _current_target(repo.raw, full)
        if current is None and not create:
            raise RevisionNotFound(f"Invalid rev id: {ref}")
        if expected_head is not None:
            expected = expected_head.lower() if isinstance(expected_head, str) else ""
            if not _HEX_PREFIX_RE.fullmatch(expected):
                raise RevisionNotFound(f"Invalid parent commit: {expected_head!r}")
            if current is None or not current.startswith(expected):
                raise RefConflict(
                    f"{ref} is at {current or 'nothing'}, not at the expected parent "
                    f"commit {expected_head}"
                )
        new = build_commit(
            repo, parent=current, ops=ops, author=author, message=message, committer=committer
        )
        if before_update is not None:
            before_update(new)
        update_ref(
            repo,
            full,
            new,
            expected_old=current,
            reflog_message="commit: " + _clean_message(message).partition("\n")[0],
            who=committer or author,
            timeout=timeout,
        )
        return new


def create_root_commit(
    repo: GitRepo,
    *,
    ref: str,
    files: dict[str, bytes],
    author: Signature,
    message: str,
    timeout: float = 30.0,
) -> str:
    """Create `ref` (which must not exist: RefExists) at a parentless commit of `files`."""
    full = _full_ref(ref)
    ops = [PutFile(path, data) for path, data in files.items()]
    with repo_lock(repo.path, timeout):
        new = build_commit(repo, parent=None, ops=ops, author=author, message=message)
        update_ref(
            repo,
            full,
            new,
            expected_old=None,
            reflog_message="commit (initial): " + _clean_message(message).partition("\n")[0],
            who=author,
            timeout=timeout,
        )
        return new
