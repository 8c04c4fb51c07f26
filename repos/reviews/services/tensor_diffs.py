"""Tensor-level diffs of checkpoints between two commits, cached per pair of contents.

Header facts (tensors added, removed, re-typed, reshaped) are computed in the request: only the
headers are read (`diff_headers`). The numeric comparison of same-shaped tensors reads data:
small pairs (HUB_TENSOR_DIFF_INLINE_BYTES, both sides) are compared in the request within
HUB_TENSOR_DIFF_INLINE_SECONDS, larger ones by the worker (`repos.tensor_diff` on the default
queue), which records its progress on the `TensorDiff` row the page polls. Only complete
results are cached (keyed by the pair of content keys, so every repository and commit pair
with the same two checkpoints shares one computation); a malformed or hostile checkpoint is
cached as `invalid` with the reason, shown as a clear error, never a 500.

Bytes are read through the byte door (`repos.reviews.selectors.checkpoints`), range by range:
no weight file is read whole into memory.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from repos.git import errors as git_errors
from repos.handles import git_repo
from repos.lfs.errors import LfsError
from repos.models import Repository, TensorDiff
from repos.reviews.selectors.checkpoints import CheckpointPair, checkpoint_at
from repos.weights.checkpoint import Checkpoint, CheckpointError
from repos.weights.tensor_diff import diff_checkpoints, diff_headers
from repos.weights.tensor_diff_result import TensorDiffResult

logger = logging.getLogger(__name__)

DEFAULT_INLINE_BYTES = 64 * 1024 * 1024
DEFAULT_INLINE_SECONDS = 5.0
# A row "running" without progress for this long lost its worker: queue it again.
STALE_AFTER = timedelta(minutes=10)
PROGRESS_EVERY_S = 0.5


@dataclass
class TensorDiffView:
    """What a page or the API shows for one checkpoint pair. `state`: done (complete result),
    queued/running (header facts in `result`, numbers coming), invalid (a checkpoint is broken:
    `error`), failed (retry later), added/removed (one side only)."""

    pair: CheckpointPair
    state: str
    result: TensorDiffResult | None = None
    error: str = ""
    bytes_done: int = 0
    bytes_total: int = 0
    diff_id: int | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.state == "done"

    @property
    def percent(self) -> int:
        return int(100 * self.bytes_done / self.bytes_total) if self.bytes_total else 0


def _inline_bytes() -> int:
    return int(getattr(settings, "HUB_TENSOR_DIFF_INLINE_BYTES", DEFAULT_INLINE_BYTES))


def _inline_seconds() -> float:
    return float(getattr(settings, "HUB_TENSOR_DIFF_INLINE_SECONDS", DEFAULT_INLINE_SECONDS))


def _checkpoints(repo: Repository, old_sha: str, new_sha: str,
                 pair: CheckpointPair) -> tuple[Checkpoint, str, Checkpoint, str]:
    git = git_repo(repo)
    assert pair.old_path is not None and pair.new_path is not None
    old, old_key = checkpoint_at(repo=repo, git=git, sha=old_sha, kind=pair.kind, path=pair.old_path)
    new, new_key = checkpoint_at(repo=repo, git=git, sha=new_sha, kind=pair.kind, path=pair.new_path)
    return old, old_key, new, new_key


def _message(exc: Exception) -> str:
    cause = exc.__cause__
    reason = f" ({type(cause).__name__})" if cause is not None else ""
    return f"This checkpoint cannot be compared: {exc}{reason}"


def tensor_diff_view(*, repo: Repository, old_sha: str, new_sha: str, pair: CheckpointPair,
                     enqueue: bool = True) -> TensorDiffView:
    """The tensor diff of `pair` from commit `old_sha` to `new_sha` (the caller authorized
    reading the repository's files). Cached when complete; queued for the worker when large."""
    if pair.old_path is None or pair.new_path is None:
        return TensorDiffView(pair=pair, state="added" if pair.old_path is None else "removed")
    try:
        old, old_key, new, new_key = _checkpoints(repo, old_sha, new_sha, pair)
    except CheckpointError as exc:
        return TensorDiffView(pair=pair, state="invalid", error=_message(exc))
    except (OSError, LfsError, git_errors.GitError) as exc:
        logger.warning("tensor diff of %s in %s: %s", pair.path, repo, exc)
        return TensorDiffView(pair=pair, state="failed", error="The weight files could not be read; retry later.")
    row = TensorDiff.objects.filter(old_key=old_key, new_key=new_key).first()
    if row is not None and row.state == TensorDiff.State.DONE and row.result:
        try:
            return TensorDiffView(pair=pair, state="done", result=TensorDiffResult.from_dict(row.result),
                                  diff_id=row.pk, bytes_done=row.bytes_total, bytes_total=row.bytes_total)
        except (ValueError, KeyError, TypeError):
            pass  # an older schema: recompute below
    if row is not None and row.state == TensorDiff.State.INVALID:
        return TensorDiffView(pair=pair, state="invalid", error=row.error, diff_id=row.pk)
    try:
        headers = diff_headers(old=old, new=new)
    except CheckpointError as exc:
        _store(repo, old_sha, new_sha, pair, old_key, new_key, state=TensorDiff.State.INVALID, error=_message(exc))
        return TensorDiffView(pair=pair, state="invalid", error=_message(exc))
    except (OSError, LfsError) as exc:
        logger.warning("tensor diff headers of %s in %s: %s", pair.path, repo, exc)
        return TensorDiffView(pair=pair, state="failed", error="The weight files could not be read; retry later.")
    total = headers.bytes_to_compare
    if total == 0 or total <= _inline_bytes():
        deadline = time.monotonic() + _inline_seconds()
        try:
            result = headers if total == 0 else diff_checkpoints(old=old, new=new, deadline=deadline)
        except CheckpointError as exc:
            _store(repo, old_sha, new_sha, pair, old_key, new_key, state=TensorDiff.State.INVALID,
                   error=_message(exc))
            return TensorDiffView(pair=pair, state="invalid", error=_message(exc))
        if result.complete:
            row = _store(repo, old_sha, new_sha, pair, old_key, new_key, state=TensorDiff.State.DONE,
                         result=result, total=total)
            return TensorDiffView(pair=pair, state="done", result=result, diff_id=row.pk, bytes_done=total,
                                  bytes_total=total)
    row = _queue(repo, old_sha, new_sha, pair, old_key, new_key, total=total, row=row, enqueue=enqueue)
    return TensorDiffView(pair=pair, state=row.state, result=headers, diff_id=row.pk, bytes_done=row.bytes_done,
                          bytes_total=row.bytes_total or total)


def _store(repo: Repository, old_sha: str, new_sha: str, pair: CheckpointPair, old_key: str, new_key: str, *,
           state: str, result: TensorDiffResult | None = None, error: str = "", total: int = 0) -> TensorDiff:
    assert pair.old_path is not None and pair.new_path is not None
    defaults = {"repository": repo, "old_commit": old_sha, "new_commit": new_sha, "old_path": pair.old_path,
                "new_path": pair.new_path, "state": state, "result": result.to_dict() if result else None,
                "error": error[:4000], "bytes_done": total, "bytes_total": total, "updated_at": timezone.now()}
    try:
        with transaction.atomic():
            row, _ = TensorDiff.objects.update_or_create(old_key=old_key, new_key=new_key, defaults=defaults)
    except IntegrityError:  # stored by a concurrent request first
        row = TensorDiff.objects.get(old_key=old_key, new_key=new_key)
    return row


def _queue(repo: Repository, old_sha: str, new_sha: str, pair: CheckpointPair, old_key: str, new_key: str, *,
           total: int, row: TensorDiff | None, enqueue: bool) -> TensorDiff:
    """The row of a diff the worker computes, queued once (again when it failed or its worker
    died)."""
    stale = timezone.now() - STALE_AFTER
    if row is not None and row.state in (TensorDiff.State.QUEUED, TensorDiff.State.RUNNING) \
            and row.updated_at >= stale:
        return row
    row = _store(repo, old_sha, new_sha, pair, old_key, new_key, state=TensorDiff.State.QUEUED)
    TensorDiff.objects.filter(pk=row.pk).update(bytes_done=0, bytes_total=total)
    row.bytes_done, row.bytes_total = 0, total
    if enqueue:
        from repos.tasks import tensor_diff  # the task module imports this one

        row_id = row.pk
        transaction.on_commit(lambda: tensor_diff.delay(row_id), robust=True)
    return row


def tensor_diff_run(*, diff: TensorDiff) -> None:
    """Compute `diff` (the worker): progress on the row as it goes, the result once complete."""
    TensorDiff.objects.filter(pk=diff.pk).update(state=TensorDiff.State.RUNNING, updated_at=timezone.now())
    pair = CheckpointPair("sharded" if diff.new_path.endswith(".index.json") else "single", diff.old_path,
                          diff.new_path)
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S or done >= total:
            last[0] = now
            TensorDiff.objects.filter(pk=diff.pk).update(bytes_done=done, bytes_total=total, updated_at=timezone.now())

    try:
        old, _, new, _ = _checkpoints(diff.repository, diff.old_commit, diff.new_commit, pair)
        result = diff_checkpoints(old=old, new=new, progress=progress)
    except CheckpointError as exc:
        TensorDiff.objects.filter(pk=diff.pk).update(state=TensorDiff.State.INVALID, error=_message(exc)[:4000],
                                                     updated_at=timezone.now())
        return
    except Exception as exc:
        TensorDiff.objects.filter(pk=diff.pk).update(state=TensorDiff.State.FAILED, error=str(exc)[:4000],
                                                     updated_at=timezone.now())
        raise
    state = TensorDiff.State.DONE if result.complete else TensorDiff.State.FAILED
    TensorDiff.objects.filter(pk=diff.pk).update(
        state=state, result=result.to_dict() if result.complete else None, bytes_done=result.bytes_compared,
        bytes_total=result.bytes_to_compare, error="" if result.complete else f"interrupted: {result.interrupted}",
        updated_at=timezone.now())
