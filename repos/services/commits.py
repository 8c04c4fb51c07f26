"""`commit_create`: the API commit (HF_PROTOCOL.md §6.5, §6.7, §6.10).

Order of work, so that a rejected commit changes nothing visible:

1. Stage: every operation is validated as it streams in; file contents go straight into the
   object database as loose blobs (memory stays bounded by one operation), LFS pointers are
   checked against this repository's uploaded objects. Any error here aborts before a ref
   is touched (unreferenced blobs are invisible and pruned by `git gc`).
2. Under the repo lock: read the target head, honour `parentCommit` (412), add
   `.gitattributes` rules for LFS files no rule covers, commit, ask the push policy about the
   ref move and compare-and-swap the ref.
3. Still under the lock, the DB index is refreshed in a transaction (so index updates land in
   git order) and the move is announced through the event door (`repos.events.refs_updated`),
   whose subscribers run once the transaction commits.

Files and refs are judged by `repos.policy.push`, the code `git push` is judged by: a commit
the API accepts is one a push would accept, with the same reasons when it is not.
"""
from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from django.conf import settings
from django.db import transaction

from accounts.models import AccessToken
from accounts.permissions import Principal
from hub.exceptions import (
    BadRequest,
    Forbidden,
    PayloadTooLarge,
    PreconditionFailed,
    RevisionNotFound,
    TreeTooLarge,
    Unprocessable,
    out_of_space_as_507,
)
from repos import objects
from repos.events import Origin, refs_updated
from repos.git import commit as git_commit
from repos.git.errors import InvalidPath, InvalidRefName
from repos.git.gitattributes import add_lfs_rule
from repos.git.objects import write_blob
from repos.git.paths import normalize_folder_path, normalize_repo_path, validate_branch_name
from repos.git.repository import GitRepo
from repos.handles import git_repo, walk_limits
from repos.lfs.pointer import is_valid_oid, parse_pointer
from repos.models import Discussion, Repository
from repos.policy import push as push_policy
from repos.policy.content import NewFile, content_rejections, content_rules
from repos.reviews.services.discussions import pull_request_create
from repos.revisions import git_errors_as_http
from repos.selectors.pull_requests import PR_REF_RE
from repos.services.index import repo_index_read, repo_index_write
from repos.services.locking import repo_write_lock
from repos.services.repos import author_signature

logger = logging.getLogger(__name__)

# HF documents 1 GB of regular (base64-inlined) content per commit.
DEFAULT_MAX_REGULAR_BYTES = 1024**3
MAX_OPERATIONS = 100_000
_PARENT_RE = re.compile(r"[0-9a-fA-F]{5,40}")
_GITATTRIBUTES = ".gitattributes"
_MAX_GITATTRIBUTES = 1024 * 1024


# ---------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class CommitHeader:
    summary: str
    description: str = ""
    parent_commit: str | None = None


@dataclass(frozen=True)
class AddFile:
    """A regular (plain git) file, content already decoded."""

    path: str
    content: bytes


@dataclass(frozen=True)
class AddLfsFile:
    """A pointer to an uploaded LFS object; `size` is None for copies (looked up)."""

    path: str
    oid: str
    size: int | None = None


@dataclass(frozen=True)
class DeleteFile:
    path: str


@dataclass(frozen=True)
class DeleteFolder:
    path: str


CommitOperation = AddFile | AddLfsFile | DeleteFile | DeleteFolder


@dataclass(frozen=True)
class CommitResult:
    sha: str
    ref: str
    pull_request: Discussion | None = None


# ---------------------------------------------------------------------- staging


@dataclass(frozen=True)
class _PendingLfs:
    path: str
    oid: str
    size: int | None


_UNCHANGED = object()


@dataclass
class _Staged:
    ops: list[Any] = field(default_factory=list)
    lfs_paths: list[str] = field(default_factory=list)
    new_files: list[NewFile] = field(default_factory=list)  # what the content rules judge
    # The .gitattributes content this commit itself writes (b"" if it deletes it).
    attributes: Any = _UNCHANGED


def _file_path(path: str) -> str:
    try:
        return normalize_repo_path(path)
    except InvalidPath as exc:
        raise Unprocessable(str(exc)) from exc


def _folder_path(path: str) -> str:
    try:
        return normalize_folder_path(path)
    except InvalidPath as exc:
        raise Unprocessable(str(exc)) from exc


class _Paths:
    """The paths a commit's operations name, so that none is named twice: adding a file twice,
    or adding and deleting it, leaves the result to the order of the lines (the client only
    warns about it), and deleting a folder after changing a file in it undoes that change.
    Deleting a folder and then adding files to it (replacing its content) is fine."""

    def __init__(self) -> None:
        # path -> position of the operation naming it
        self.files: dict[str, int] = {}
        self.folders: dict[str, int] = {}

    def file(self, path: str) -> str:
        if path in self.files:
            raise BadRequest(f"The commit names {path} more than once: add or delete each file once per commit")
        self.files[path] = len(self.files) + len(self.folders)
        return path

    def folder(self, path: str) -> str:
        if path in self.folders:
            raise BadRequest(f"The commit deletes the folder {path} more than once")
        self.folders[path] = len(self.files) + len(self.folders)
        return path

    def check_folders(self) -> None:
        """Refuse a folder deletion that follows a change of a file in the folder. Linear in
        the length of the paths: the deleted folders form a trie each file walks down."""
        if not self.folders:
            return
        trie: dict[str | None, Any] = {}
        for folder, position in self.folders.items():
            node = trie
            for part in folder.split("/"):
                node = node.setdefault(part, {})
            node[None] = position
        for path, position in self.files.items():
            walk: dict[str | None, Any] | None = trie
            for part in path.split("/"):
                walk = walk.get(part) if walk is not None else None
                if walk is None:
                    break
                deleted_at = walk.get(None)
                if deleted_at is not None and deleted_at > position:
                    raise BadRequest(f"The commit deletes a folder after changing {path} in it: delete the "
                                     "folder first, or leave the file out")


def _stage(*, repo: Repository, git: GitRepo, operations: Iterable[CommitOperation]) -> _Staged:
    limit = getattr(settings, "HUB_COMMIT_MAX_REGULAR_BYTES", DEFAULT_MAX_REGULAR_BYTES)
    staged = _Staged()
    pending: list[tuple[int, _PendingLfs]] = []
    regular_total = 0
    paths = _Paths()
    for op in operations:
        if len(staged.ops) >= MAX_OPERATIONS:
            raise BadRequest(f"Too many operations in one commit (at most {MAX_OPERATIONS})")
        if isinstance(op, AddFile) and (pointer := push_policy.blob_lfs_pointer(op.content)) is not None:
            # Pointer text sent as a plain file is an LFS file, as in a push: its object must
            # have been uploaded here.
            op = AddLfsFile(op.path, pointer.oid, pointer.size)
        if isinstance(op, AddFile):
            path = paths.file(_file_path(op.path))
            reason = push_policy.blob_rejection(path=path, size=len(op.content), sample=op.content)
            if reason:
                raise BadRequest(f"{reason} Offending file: {path}")
            regular_total += len(op.content)
            if regular_total > limit:
                raise PayloadTooLarge(f"A commit may hold at most {limit} bytes of regular files; use LFS")
            blob_oid = write_blob(git, op.content)
            staged.ops.append(git_commit.PutBlob(path, blob_oid))
            staged.new_files.append(NewFile(path, blob_oid, len(op.content), False, _bytes_reader(op.content)))
            if path == _GITATTRIBUTES:
                staged.attributes = op.content
        elif isinstance(op, AddLfsFile):
            path = paths.file(_file_path(op.path))
            if not is_valid_oid(op.oid):
                raise BadRequest(f"Invalid LFS oid for {path}: expected 64 lowercase hex characters")
            pending.append((len(staged.ops), _PendingLfs(path, op.oid, op.size)))
            staged.ops.append(None)  # filled in below, once all oids are checked at once
            staged.lfs_paths.append(path)
        elif isinstance(op, DeleteFile):
            path = paths.file(_file_path(op.path))
            staged.ops.append(git_commit.DeleteFile(path))
            if path == _GITATTRIBUTES:
                staged.attributes = b""
        elif isinstance(op, DeleteFolder):
            staged.ops.append(git_commit.DeleteFolder(paths.folder(_folder_path(op.path))))
        else:  # pragma: no cover - the parser only builds the types above
            raise BadRequest(f"Unknown operation {op!r}")
    paths.check_folders()
    _resolve_lfs(repo=repo, git=git, staged=staged, pending=pending)
    _check_content(repo=repo, staged=staged)
    return staged


def _bytes_reader(data: bytes) -> Callable[[], BinaryIO]:
    return lambda: io.BytesIO(data)


def _object_reader(repo: Repository, oid: str) -> Callable[[], BinaryIO]:
    return lambda: objects.open_object(repo=repo, oid=oid)


def _check_content(*, repo: Repository, staged: _Staged) -> None:
    """The content rules (`repos.policy.content`) on the files the commit adds."""
    if not content_rules():
        return
    rejections = content_rejections(repo=repo, files=staged.new_files)
    if rejections:
        raise BadRequest("; ".join(f"{reason} Offending file: {path}" for path, reason in rejections[:20]))


def _resolve_lfs(*, repo: Repository, git: GitRepo, staged: _Staged,
                 pending: list[tuple[int, _PendingLfs]]) -> None:
    """Pointer blobs for LFS operations whose objects were uploaded to *this* repository
    (knowing a sha256 from another, private, repository must not let anyone reference it)."""
    check = push_policy.lfs_reference_check(repo=repo, references=[(p.path, p.oid, p.size) for _, p in pending])
    if check.rejections:
        path, reason = check.rejections[0]
        raise Unprocessable(f"{reason} Offending file: - {path}")
    for (index, item), pointer in zip(pending, check.pointers, strict=True):
        assert pointer is not None  # no rejections: every reference resolved
        staged.ops[index] = git_commit.PutBlob(item.path, write_blob(git, pointer.to_bytes()))
        staged.new_files.append(NewFile(item.path, pointer.oid, pointer.size, True, _object_reader(repo, pointer.oid)))


def _attributes_text(git: GitRepo, base_sha: str | None, staged: _Staged) -> str:
    if staged.attributes is not _UNCHANGED:
        return bytes(staged.attributes).decode("utf-8", "surrogateescape")
    if base_sha is None:
        return ""
    entry = git.get_entry(base_sha, _GITATTRIBUTES)
    if entry is None or entry.type != "file" or entry.size > _MAX_GITATTRIBUTES:
        return ""
    data = git.read_blob(entry.oid)
    if parse_pointer(data) is not None:
        return ""
    return data.decode("utf-8", "surrogateescape")


def _with_lfs_rules(git: GitRepo, base_sha: str | None, staged: _Staged) -> list[Any]:
    """The staged operations plus, when an LFS file is not covered by `.gitattributes`, a
    rewrite of `.gitattributes` with a rule for it (otherwise `git clone` would leave the
    pointer text in the work tree)."""
    if not staged.lfs_paths:
        return list(staged.ops)
    text = _attributes_text(git, base_sha, staged)
    updated = text
    for path in staged.lfs_paths:
        updated = add_lfs_rule(updated, path)
    if updated == text:
        return list(staged.ops)
    return [*staged.ops, git_commit.PutFile(_GITATTRIBUTES, updated.encode("utf-8", "surrogateescape"))]


# ---------------------------------------------------------------------- commit


def _message(header: CommitHeader) -> str:
    summary = header.summary.strip()
    description = (header.description or "").strip()
    return f"{summary}\n\n{description}" if description else summary


def _check_parent(parent: str | None, head: str) -> None:
    if parent is None:
        return
    if not _PARENT_RE.fullmatch(parent):
        raise BadRequest(f"Invalid parentCommit {parent!r}: expected 5 to 40 hexadecimal characters")
    if not head.startswith(parent.lower()):
        raise PreconditionFailed()


def _target_branch(revision: str) -> str:
    # A branch name can never start with "refs/", so the full spelling is unambiguous.
    revision = revision.removeprefix("refs/heads/")
    try:
        return validate_branch_name(revision)
    except InvalidRefName:
        raise RevisionNotFound(f"Invalid rev id: {revision}") from None


def _index(*, repo: Repository, git: GitRepo, ref: str, old: str | None, sha: str, user: Principal, origin: Origin,
           ip: str | None) -> None:
    """Refresh the index (the default branch's; git walked before the transaction) and
    announce the ref move, in one transaction."""
    snapshot = repo_index_read(repo=repo, git=git) if ref == f"refs/heads/{repo.default_branch}" else None
    with transaction.atomic():
        if snapshot is not None:
            repo_index_write(repo=repo, snapshot=snapshot)
        refs_updated(repo=repo, changes=[(ref, old, sha)], actor=user, origin=origin, ip=ip)


def _last_word(*, repo: Repository, git: GitRepo, user: Principal, token: AccessToken | None,
               ref: str) -> Callable[[str], None]:
    """The check run under the lock once the commit is built, right before the ref moves: the
    new tree within the walk limits, and the push policy with the principal read again (a
    token revoked while the commit streamed refuses it here)."""
    def check(sha: str) -> None:
        limits = walk_limits()
        if reason := push_policy.tree_rejection(git.tree_stats(sha, limits=limits), limits):
            raise TreeTooLarge(reason)
        _authorize_ref(repo=repo, user=user, token=token, ref=ref)
    return check


def _authorize_ref(*, repo: Repository, user: Principal, token: AccessToken | None, ref: str) -> None:
    """The push policy on the ref this commit moves. The commit is built on the ref's current
    head, so the move is always a fast-forward to a commit; `refs/pr/N` is only ever written
    here for a pull request (opened by this commit, or one it adds commits to)."""
    reason = push_policy.ref_update_rejection(repo=repo, user=user, token=token, ref=ref, deleting=False,
                                              fast_forward=True, target_kind="commit",
                                              via_pull_request=ref.startswith("refs/pr/"))
    if reason:
        raise Forbidden(reason)


def commit_create(*, repo: Repository, user: Principal, revision: str, header: CommitHeader,
                  operations: Iterable[CommitOperation], create_pr: bool = False,
                  token: AccessToken | None = None, origin: Origin = "api", ip: str | None = None,
                  draft: bool = True) -> CommitResult:
    """Commit `operations` on `revision` (a branch, or `refs/pr/N`), or with `create_pr` open
    a PR against branch `revision` holding the commit (a draft, as on the Hub, unless `draft`
    is False: the web pages open it ready for review).

    The caller has authorized: write access for a branch, `can_push_to_pull_request` for
    `refs/pr/N`, `can_open_pull_request` for `create_pr`; the push policy checks the ref move
    again under the lock (with `token`, the credential the request came with, if any).
    `operations` may be a lazy iterator (parse errors raised from it abort the commit before
    anything changes). Takes the repo lock. The ref move is announced with `origin` ("pr" when
    the commit opens a pull request).
    """
    pr_ref = None if create_pr else PR_REF_RE.fullmatch(revision)
    branch = None if pr_ref else _target_branch(revision)
    git = git_repo(repo)
    # Objects are written before the ref moves and the ref before the index: on a full disk
    # the first write that fails is an object's, and nothing visible has changed (507).
    with out_of_space_as_507():
        staged = _stage(repo=repo, git=git, operations=operations)
    message = _message(header)
    author = author_signature(user)
    with git_errors_as_http(), repo_write_lock(git):
        if create_pr:
            return _commit_as_pull_request(repo=repo, git=git, user=user, token=token, branch=str(branch),
                                           header=header, staged=staged, message=message, author=author, ip=ip,
                                           draft=draft)
        ref = revision if pr_ref else f"refs/heads/{branch}"
        head = git.resolve(ref)
        _check_parent(header.parent_commit, head)
        _authorize_ref(repo=repo, user=user, token=token, ref=ref)
        sha = git_commit.commit_to_ref(git, ref=ref, ops=_with_lfs_rules(git, head, staged), author=author,
                                       message=message, expected_head=head,
                                       before_update=_last_word(repo=repo, git=git, user=user, token=token, ref=ref))
        _index(repo=repo, git=git, ref=ref, old=head, sha=sha, user=user, origin=origin, ip=ip)
    return CommitResult(sha=sha, ref=ref)


def _commit_as_pull_request(*, repo: Repository, git: GitRepo, user: Principal, token: AccessToken | None, branch: str,
                            header: CommitHeader, staged: _Staged, message: str,
                            author: git_commit.Signature, ip: str | None, draft: bool = True) -> CommitResult:
    """HF_PROTOCOL.md 6.7: the PR is opened at the base commit (its ref created there by the
    pull-request mechanism), then the commit is applied on `refs/pr/N` like any PR commit."""
    base_head = git.resolve(f"refs/heads/{branch}")
    start = base_head
    if header.parent_commit is not None:
        if not _PARENT_RE.fullmatch(header.parent_commit):
            raise BadRequest(f"Invalid parentCommit {header.parent_commit!r}")
        start = git.resolve(header.parent_commit.lower())
        if not git.is_ancestor(start, base_head):
            raise PreconditionFailed()
    sha = git_commit.build_commit(git, parent=start, ops=_with_lfs_rules(git, start, staged), author=author,
                                  message=message)
    with transaction.atomic():
        pr = pull_request_create(repo=repo, author=user, title=header.summary, target_branch=branch,
                                 head_sha=start, description=header.description, git=git, announce=False,
                                 status=Discussion.Status.DRAFT if draft else Discussion.Status.OPEN)
        # A refusal here rolls the PR back; its ref, left at `start` without a row, is
        # overwritten by the next PR to take the number (see `pull_request_create`).
        _last_word(repo=repo, git=git, user=user, token=token, ref=pr.git_ref)(sha)
        git_commit.update_ref(git, pr.git_ref, sha, expected_old=start, who=author,
                              reflog_message="commit: " + message.partition("\n")[0])
        refs_updated(repo=repo, changes=[(pr.git_ref, None, sha)], actor=user, origin="pr", ip=ip)
    return CommitResult(sha=sha, ref=pr.git_ref, pull_request=pr)
