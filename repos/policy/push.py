"""What may be written to a repository: the rules shared by `git push` and the commit API.

One implementation for both write paths (HF_PROTOCOL.md 10.4, SECURITY.md T29-T31, T42): the
pre-receive hook (`check_push`, through `repos.services.push`) and the API services
(`repos.services.commits`, `repos.services.refs`) ask the same functions.

* refs: names pass `git check-ref-format` plus our rules; only `refs/heads/*`, `refs/tags/*`
  and `refs/pr/<n>` of a pull request that accepts commits (its author or a writer) may be
  written; `refs/convert/*` and every other namespace are reserved for the hub;
* the default branch is protected: no deletion, no non-fast-forward update;
* files: a plain blob must pass `upload_policy.check_regular_blob` (size / binary limits); a
  blob that is an LFS pointer must name an object that is in the store *and* was uploaded to
  this repository (knowing a sha256 from another repository gives nothing);
* content: the files a write adds that pass the rules above go to the content rules
  (`repos.policy.content`, e.g. "block unsafe files").

Functions return the reason for a refusal (the wording each path shows) or None; they never
raise for a refusal, so callers can collect every problem of a push and report them together,
or raise the HTTP error their API answers with.
"""
from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import BinaryIO

from accounts.models import AccessToken
from accounts.permissions import Principal, current_principal
from hub.exceptions import BadRequest, Forbidden, HubError, RevisionNotFound, Unauthorized
from repos.gate import can_admin, can_open_pull_request, can_push_to_pull_request, can_write
from repos.git.errors import InvalidRefName, TreeTooLarge
from repos.git.hooks import RefUpdate
from repos.git.limits import TreeStats, WalkLimits
from repos.git.paths import validate_branch_name, validate_ref_name, validate_tag_name
from repos.git.quarantine import QuarantinedPush
from repos.handles import walk_limits
from repos.lfs.pointer import MAX_POINTER_SIZE, LfsPointer, parse_pointer
from repos.models import Repository
from repos.objects import open_object, readable_objects
from repos.policy import upload as upload_policy
from repos.policy.content import NewFile, content_rejections, content_rules
from repos.selectors.pull_requests import PR_REF_RE, pull_request_by_ref

RULE = "-" * 73
NO_WRITE_ACCESS = "You don't have write access to this repository."


@dataclass(frozen=True)
class Rejection:
    """Why (part of) a push or commit is refused; `path` for file-level problems."""

    reason: str
    ref: str
    path: str | None = None


# --------------------------------------------------------------------------- refs


def ref_update_rejection(*, repo: Repository, user: Principal, token: AccessToken | None, ref: str,
                         deleting: bool, fast_forward: bool | None = None, target_kind: str | None = None,
                         via_pull_request: bool = False) -> str | None:
    """Why `user` may not move `ref` (None if they may).

    `fast_forward` is whether the new value contains the old one (None for creations and
    deletions); `target_kind` is the git type of the new value ("commit", "tag", ...).
    `refs/pr/*` is written only through pull requests: `via_pull_request=True` declares that
    the hub's pull-request mechanism makes the write (a PR opened by the commit API, commits
    to `refs/pr/N`); a git push to `refs/pr/N` is the git face of the same mechanism
    (HF_PROTOCOL.md 7.5). Both need a PR that accepts commits, pushed by its author or a
    writer; any other `refs/pr/*` write is refused. `via_pull_request` for another ref is a
    programming error.
    The caller has already established that `user` can read the repository; it asks under the
    repository lock, right before the ref moves: the principal is read again from the database
    here, so a token revoked (or an account deactivated) while a push or commit streamed is
    refused at this point.
    """
    if via_pull_request and not PR_REF_RE.fullmatch(ref):
        raise ValueError(f"via_pull_request is for pull request refs, not {ref!r}")
    try:
        user, token = current_principal(user, token)
    except Unauthorized as exc:
        return exc.message
    try:
        validate_ref_name(ref)
    except InvalidRefName:
        return f"Invalid reference name: {ref!r}"

    if ref.startswith("refs/heads/"):
        branch = ref[len("refs/heads/"):]
        try:
            validate_branch_name(branch)
        except InvalidRefName:
            return f"Invalid branch name: {branch!r}"
        if not can_write(user, repo, token=token):
            return NO_WRITE_ACCESS
        if branch == repo.default_branch:
            if deleting:
                return f"The default branch ({branch}) cannot be deleted."
            if fast_forward is False:
                return (f"Force-pushing to the default branch ({branch}) is not allowed: "
                        "the push would rewrite its history. Pull and merge (or rebase), then push again.")
        if not deleting and target_kind != "commit":
            return f"A branch must point to a commit ({ref})."
        return None

    if ref.startswith("refs/tags/"):
        try:
            validate_tag_name(ref[len("refs/tags/"):])
        except InvalidRefName:
            return f"Invalid tag name: {ref[len('refs/tags/'):]!r}"
        if not can_write(user, repo, token=token):
            return NO_WRITE_ACCESS
        if not deleting and target_kind not in ("commit", "tag"):
            return f"A tag must point to a commit or a tag object ({ref})."
        return None

    if ref.startswith("refs/pr/"):
        return _pull_request_ref_rejection(repo=repo, user=user, token=token, ref=ref, deleting=deleting,
                                           target_kind=target_kind, via_pull_request=via_pull_request)

    if ref.startswith("refs/convert/"):
        return f"{ref} is reserved: refs/convert/* are written by the hub only."
    return f"{ref} is not allowed: only branches (refs/heads/*) and tags (refs/tags/*) can be pushed."


def history_rewrite_rejection(*, repo: Repository, user: Principal, token: AccessToken | None, ref: str) -> str | None:
    """Why `user` may not rewrite the history of `ref` through the hub (super-squash).

    A git push can never rewrite the protected default branch (`ref_update_rejection`); the
    API's super-squash can, but only for the repository's admins (SECURITY.md T31: not
    writers, contributors or tokens capped below admin - a fine-grained `write` scope
    included: it covers contents and settings, not history rewrites). Other branches follow the usual
    ref rules, pull-request refs the pull-request rules.
    """
    if ref == f"refs/heads/{repo.default_branch}":
        try:
            user, token = current_principal(user, token)
        except Unauthorized as exc:
            return exc.message
        if not can_admin(user, repo, token=token):
            return (f"Rewriting the history of the default branch ({repo.default_branch}) "
                    "needs admin rights on the repository (a fine-grained token needs admin access to it).")
        return None
    return ref_update_rejection(repo=repo, user=user, token=token, ref=ref, deleting=False, fast_forward=True,
                                target_kind="commit", via_pull_request=bool(PR_REF_RE.fullmatch(ref)))


def pull_request_commit_problem(*, repo: Repository, user: Principal, token: AccessToken | None,
                                ref: str) -> HubError | None:
    """THE pull-request rule: why `user` may not add commits to `ref` (`refs/pr/N`), or None.

    A PR ref receives commits only while its pull request is open or a draft, from the PR's
    author (while they may still propose changes) or a writer of the repository. The error says
    what a client should do: RevisionNotFound (no such PR), BadRequest (closed or merged),
    Forbidden (someone else's PR). Every path asks this: the commit API before reading a body,
    the commit service and `git push` under the repository lock.
    """
    pr = pull_request_by_ref(repo=repo, ref=ref)
    if pr is None:
        return RevisionNotFound(f"Invalid rev id: {ref}")
    if not can_push_to_pull_request(user, repo, author_id=pr.author_id, token=token):
        return Forbidden(f"Only the author of pull request #{pr.num} or a writer of the repository can push to {ref}.")
    if not pr.is_writable:
        return BadRequest(f"Pull request #{pr.num} is {pr.status}: it cannot receive commits")
    return None


def commit_target_check(*, repo: Repository, user: Principal, token: AccessToken | None, revision: str,
                        create_pr: bool) -> None:
    """Who may commit where, checked before a commit's body is read (HF_PROTOCOL.md 6.2, 6.7):
    writers on branches; any reader allowed to propose changes when opening a PR; the PR rule
    on `refs/pr/N`. Raises the HubError the API answers with; the caller established read
    access and that `user` is signed in."""
    if create_pr:
        if not can_open_pull_request(user, repo, token=token):
            raise Forbidden("You don't have the rights to open a pull request on this repository")
        return
    if PR_REF_RE.fullmatch(revision):
        if problem := pull_request_commit_problem(repo=repo, user=user, token=token, ref=revision):
            raise problem
        return
    if not can_write(user, repo, token=token):
        raise Forbidden("You don't have write access to this repository")


def _pull_request_ref_rejection(*, repo: Repository, user: Principal, token: AccessToken | None, ref: str,
                                deleting: bool, target_kind: str | None, via_pull_request: bool) -> str | None:
    problem = pull_request_commit_problem(repo=repo, user=user, token=token, ref=ref)
    if isinstance(problem, RevisionNotFound) or (isinstance(problem, BadRequest) and not via_pull_request):
        # git's face of the same rule: a PR ref takes pushes only while its PR is open.
        return (f"{ref} is reserved for pull requests: push to it only when pull request "
                f"#{ref[len('refs/pr/'):]} exists and is open (open one through the hub first).")
    if problem is not None:
        return problem.message
    if deleting:
        return f"{ref} cannot be deleted with git; close the pull request instead."
    if target_kind != "commit":
        return f"A pull request ref must point to a commit ({ref})."
    return None


# --------------------------------------------------------------------------- files


def blob_lfs_pointer(data: bytes) -> LfsPointer | None:
    """The LFS pointer a blob is (canonical form only, under git-lfs' size cutoff), or None.
    Such a blob is judged by `lfs_pointer_rejections`, any other by `blob_rejection`."""
    if len(data) >= MAX_POINTER_SIZE:
        return None
    return parse_pointer(data)


def blob_rejection(*, path: str, size: int, sample: bytes) -> str | None:
    """Why a plain (non-LFS) file may not be stored; `sample` = its first bytes (at least
    `upload_policy.BINARY_SAMPLE_SIZE` of them, or all; unused above the size limit)."""
    return upload_policy.check_regular_blob(path, size, sample)


def _lfs_reference_rejection(*, size: int | None, stored: int | None) -> str | None:
    if size is not None and (too_large := upload_policy.check_lfs_object_size(size)):
        return too_large
    if stored is None:
        return upload_policy.MISSING_LFS_OBJECT_MESSAGE
    if size is not None and size != stored:
        return f"Size mismatch: an LFS pointer says {size} bytes but the uploaded object has {stored} bytes."
    return None


@dataclass(frozen=True)
class LfsCheck:
    """The outcome of `lfs_reference_check`: a pointer per reference (None where refused), and
    the (path, reason) refusals."""

    pointers: list[LfsPointer | None] = field(default_factory=list)
    rejections: list[tuple[str, str]] = field(default_factory=list)


def lfs_reference_check(*, repo: Repository, references: Iterable[tuple[str, str, int | None]]) -> LfsCheck:
    """Check (path, oid, size) references to LFS objects; a size of None (an API copy) means
    "whatever size the object has". An object must be in the store, uploaded to this
    repository, of the stated size and within the LFS size limit."""
    references = list(references)
    available = readable_objects(repo=repo, oids={oid for _path, oid, _size in references})
    result = LfsCheck()
    for path, oid, size in references:
        stored = available.get(oid)
        reason = _lfs_reference_rejection(size=size, stored=stored)
        if reason is None and stored is not None:
            result.pointers.append(LfsPointer(oid=oid, size=stored))
        else:
            result.pointers.append(None)
            result.rejections.append((path, reason or upload_policy.MISSING_LFS_OBJECT_MESSAGE))
    return result


def lfs_pointer_rejections(*, repo: Repository, pointers: Iterable[tuple[str, LfsPointer]]) -> list[tuple[str, str]]:
    """(path, reason) for every pointer whose object is too large, missing from the store,
    not uploaded to this repository, or of another size than the pointer says."""
    return lfs_reference_check(repo=repo, references=[(path, p.oid, p.size) for path, p in pointers]).rejections


# --------------------------------------------------------------------------- pushes


def check_push(*, repo: Repository, user: Principal, token: AccessToken | None, push: QuarantinedPush,
               updates: list[RefUpdate], limits: WalkLimits | None = None) -> list[Rejection]:
    """Every reason to refuse `updates` (empty: accept). Runs in the pre-receive hook, with
    the pushed objects still in quarantine."""
    rejections: list[Rejection] = []
    for update in updates:
        kind = push.kind(update.new) if update.new else None
        fast_forward = None
        if update.old and update.new:
            fast_forward = push.is_ancestor(update.old, update.new)
        reason = ref_update_rejection(repo=repo, user=user, token=token, ref=update.ref,
                                      deleting=update.is_delete, fast_forward=fast_forward,
                                      target_kind=kind)
        if reason:
            rejections.append(Rejection(reason=reason, ref=update.ref))
    if rejections:
        return rejections  # no need to scan objects of a push refused anyway
    rejections = _oversized_trees(push=push, updates=updates, limits=limits or walk_limits())
    if rejections:
        return rejections  # never walk what is too large to walk

    seen: set[str] = set()
    pointers: list[tuple[str, LfsPointer]] = []
    pointer_refs: dict[str, str] = {}
    plain: list[tuple[str, str, int, str]] = []  # (path, blob oid, size, ref) of accepted blobs
    for update in updates:
        if update.new is None:
            continue
        for blob in push.new_blobs([update.new]):
            if blob.oid in seen:
                continue
            seen.add(blob.oid)
            sample = b""
            # Read only what a decision needs: a possible pointer whole, else the sample that
            # binary detection looks at (never a blob too large for git whatever it holds).
            if blob.size < MAX_POINTER_SIZE:
                sample = push.read(blob.oid)
                pointer = blob_lfs_pointer(sample)
                if pointer is not None:
                    pointers.append((blob.path, pointer))
                    pointer_refs[blob.path] = update.ref
                    continue
            elif upload_policy.BINARY_LFS_THRESHOLD < blob.size <= upload_policy.MAX_REGULAR_FILE_SIZE:
                sample = push.read(blob.oid)[: upload_policy.BINARY_SAMPLE_SIZE]
            reason = blob_rejection(path=blob.path, size=blob.size, sample=sample)
            if reason:
                rejections.append(Rejection(reason, update.ref, blob.path))
            else:
                plain.append((blob.path, blob.oid, blob.size, update.ref))
    for path, reason in lfs_pointer_rejections(repo=repo, pointers=pointers):
        rejections.append(Rejection(reason, pointer_refs[path], path))
    if rejections or not content_rules():
        return rejections  # content rules judge only a push that passes every other rule
    files = [NewFile(path, oid, size, False, _quarantined_reader(push, oid)) for path, oid, size, _ in plain]
    files += [NewFile(path, p.oid, p.size, True, _object_reader(repo, p.oid)) for path, p in pointers]
    refs = {path: ref for path, _oid, _size, ref in plain} | pointer_refs
    for path, reason in content_rejections(repo=repo, files=files):
        rejections.append(Rejection(reason, refs[path], path))
    return rejections


def _quarantined_reader(push: QuarantinedPush, oid: str) -> Callable[[], BinaryIO]:
    return lambda: io.BytesIO(push.read(oid))  # plain blobs are at most 10 MiB (upload policy)


def _object_reader(repo: Repository, oid: str) -> Callable[[], BinaryIO]:
    return lambda: open_object(repo=repo, oid=oid)


def tree_rejection(stats: TreeStats, limits: WalkLimits) -> str | None:
    """Why a commit whose tree measures `stats` may not be stored (the same words on every
    write path), or None."""
    problem = stats.problem(limits)
    if problem is None:
        return None
    return f"Your commit was rejected: its file tree is too large to process ({problem})."


def _oversized_trees(*, push: QuarantinedPush, updates: list[RefUpdate], limits: WalkLimits) -> list[Rejection]:
    """Every pushed commit's tree is measured (memoized per tree id, so a tree bomb of a few
    objects costs a few objects) before anything walks its paths."""
    cache: dict[str, TreeStats] = {}
    for update in updates:
        if update.new is None or push.kind(update.new) not in ("commit", "tag"):
            continue
        for commit in push.new_commits([update.new]):
            try:
                reason = tree_rejection(push.tree_stats(commit, limits=limits, cache=cache), limits)
            except TreeTooLarge as exc:
                reason = f"Your commit was rejected: its file tree is too large to process ({exc})."
            if reason:
                return [Rejection(reason=f"{reason} (commit {commit[:12]})", ref=update.ref)]
    return []


def format_rejections(rejections: list[Rejection]) -> str:
    """The message the pusher sees (git prefixes each line with `remote:`): ref problems in
    one block, then one block per file rule in the Hub's layout, with the offending files."""
    parts = []
    ref_level = [r for r in rejections if r.path is None]
    if ref_level:
        lines = [f"  - {r.ref}: {r.reason}" for r in ref_level]
        parts.append("\n".join([RULE, "Your push was rejected:", *lines, RULE]) + "\n")
    blocks: dict[str, list[Rejection]] = {}
    for rejection in rejections:
        if rejection.path is not None:
            blocks.setdefault(rejection.reason, []).append(rejection)
    for reason, items in blocks.items():
        parts.append(upload_policy.format_push_rejection(reason, [(r.path or "", r.ref) for r in items]))
    return "".join(parts)
