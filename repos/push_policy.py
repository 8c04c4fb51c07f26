"""What may be written to a repository: the rules shared by `git push` and the commit API.

One implementation for both write paths (HF_PROTOCOL.md 10.4, SECURITY.md T29-T31, T42):

* refs: names pass `git check-ref-format` plus our rules; only `refs/heads/*`, `refs/tags/*`
  and `refs/pr/<n>` of an open pull request (its author or a writer) may be written;
  `refs/convert/*` and every other namespace are reserved for the hub;
* the default branch is protected: no deletion, no non-fast-forward update;
* files: a plain blob must pass `upload_policy.check_regular_blob` (size / binary limits);
  an LFS pointer must name an object that is in the store *and* was uploaded to this
  repository (knowing a sha256 from another repository gives nothing).

Functions return the reason for a refusal (HF wording) or None; they never raise for a
refusal, so callers can collect every problem of a push and report them together.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from accounts.models import AccessToken
from repos import upload_policy
from repos.git.errors import InvalidRefName
from repos.git.hooks import RefUpdate
from repos.git.paths import validate_branch_name, validate_ref_name, validate_tag_name
from repos.git.quarantine import QuarantinedPush
from repos.lfs.pointer import LfsPointer, parse_pointer
from repos.models import Repository
from repos.permissions import can_push_to_pull_request, can_write
from repos.selectors.lfs import lfs_objects_available
from repos.selectors.pull_requests import pull_request_by_ref

# Draft PRs accept commits too (create_commit(create_pr=True) opens them as drafts).
_WRITABLE_PR_STATUSES = ("open", "draft")
# Blobs at least this large are never LFS pointers (git-lfs' own cutoff).
_POINTER_MAX = 1024

RULE = "-" * 73


@dataclass(frozen=True)
class Rejection:
    """Why (part of) a push or commit is refused; `path` for file-level problems."""

    reason: str
    ref: str
    path: str | None = None


# --------------------------------------------------------------------------- refs


def ref_update_rejection(*, repo: Repository, user: Any, token: AccessToken | None, ref: str,
                         deleting: bool, fast_forward: bool | None = None,
                         target_kind: str | None = None) -> str | None:
    """Why `user` may not move `ref` (None if they may).

    `fast_forward` is whether the new value contains the old one (None for creations and
    deletions); `target_kind` is the git type of the new value ("commit", "tag", ...).
    The caller has already established that `user` can read the repository.
    """
    try:
        validate_ref_name(ref)
    except InvalidRefName:
        return f"Invalid reference name: {ref!r}"
    writer = can_write(user, repo, token=token)

    if ref.startswith("refs/heads/"):
        branch = ref[len("refs/heads/"):]
        try:
            validate_branch_name(branch)
        except InvalidRefName:
            return f"Invalid branch name: {branch!r}"
        if not writer:
            return "You don't have write access to this repository."
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
        if not writer:
            return "You don't have write access to this repository."
        if not deleting and target_kind not in ("commit", "tag"):
            return f"A tag must point to a commit or a tag object ({ref})."
        return None

    if ref.startswith("refs/pr/"):
        pr = pull_request_by_ref(repo=repo, ref=ref)
        if pr is None or pr.status not in _WRITABLE_PR_STATUSES:
            return (f"{ref} is reserved for pull requests: push to it only when pull request "
                    f"#{ref[len('refs/pr/'):]} exists and is open (open one through the hub first).")
        if not can_push_to_pull_request(user, repo, author_id=pr.author_id, token=token):
            return f"Only the author of pull request #{pr.num} or a writer can push to {ref}."
        if deleting:
            return f"{ref} cannot be deleted with git; close the pull request instead."
        if target_kind != "commit":
            return f"A pull request ref must point to a commit ({ref})."
        return None

    if ref.startswith("refs/convert/"):
        return f"{ref} is reserved: refs/convert/* are written by the hub only."
    return f"{ref} is not allowed: only branches (refs/heads/*) and tags (refs/tags/*) can be pushed."


# --------------------------------------------------------------------------- files


def blob_rejection(*, path: str, size: int, sample: bytes) -> str | None:
    """Why a plain (non-LFS) file may not be stored; `sample` = its first bytes (≥ 512)."""
    return upload_policy.check_regular_blob(path, size, sample)


def lfs_pointer_rejections(*, repo: Repository, pointers: Iterable[tuple[str, LfsPointer]]) -> list[tuple[str, str]]:
    """(path, reason) for every pointer whose object is too large, missing from the store,
    not uploaded to this repository, or of another size than the pointer says."""
    pointers = list(pointers)
    available = lfs_objects_available(repo=repo, oids={p.oid for _path, p in pointers})
    problems = []
    for path, pointer in pointers:
        reason = upload_policy.check_lfs_object_size(pointer.size)
        if reason is None and available.get(pointer.oid) != pointer.size:
            reason = upload_policy.MISSING_LFS_OBJECT_MESSAGE
        if reason is not None:
            problems.append((path, reason))
    return problems


# --------------------------------------------------------------------------- pushes


def check_push(*, repo: Repository, user: Any, token: AccessToken | None, push: QuarantinedPush,
               updates: list[RefUpdate]) -> list[Rejection]:
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

    seen: set[str] = set()
    pointers: list[tuple[str, LfsPointer, str]] = []
    for update in updates:
        if update.new is None:
            continue
        for blob in push.new_blobs([update.new]):
            if blob.oid in seen:
                continue
            seen.add(blob.oid)
            if blob.size > upload_policy.MAX_REGULAR_FILE_SIZE:
                # Never read: too large for git whatever it holds.
                rejections.append(Rejection(upload_policy.TOO_LARGE_MESSAGE, update.ref, blob.path))
                continue
            if blob.size < _POINTER_MAX:
                pointer = parse_pointer(push.read(blob.oid))
                if pointer is not None:
                    pointers.append((blob.path, pointer, update.ref))
                    continue
            if blob.size > upload_policy.BINARY_LFS_THRESHOLD:
                sample = push.read(blob.oid)[: upload_policy.BINARY_SAMPLE_SIZE]
                reason = blob_rejection(path=blob.path, size=blob.size, sample=sample)
                if reason:
                    rejections.append(Rejection(reason, update.ref, blob.path))
    if pointers:
        refs = {path: ref for path, _pointer, ref in pointers}
        for path, reason in lfs_pointer_rejections(repo=repo, pointers=[(p, ptr) for p, ptr, _r in pointers]):
            rejections.append(Rejection(reason, refs[path], path))
    return rejections


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
