"""Redaction jobs: a de-identified revision of a dataset, opened as a pull request.

The owner asks (`redaction_request`, from the API or the page); the worker runs
`redaction_run`: every dataset file of the requested commit whose report has findings is
streamed through `safety.redaction.redact_file` (masking, or consistent pseudonyms keyed by the
repository's own secret) into a temporary copy (in memory, spilling encrypted to disk), and the
copies are committed with `repos.services.commits.commit_create(create_pr=True)` - the very
service the API commit uses, so the push policy, the byte door (`objects.ingest` for LFS files)
and the event door all apply and the new head is reported like any other. Only detected spans change: other columns stay
byte-identical (CSV, JSONL) or value-identical (Parquet).

A copy that cannot be completed (`RedactionFailed`: a bound, a malformed file) fails the whole
job: a half-redacted revision is never proposed.
"""
from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import BinaryIO

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from accounts.services.audit import audit
from hub.exceptions import Conflict, HubError, Unprocessable
from repos import objects
from repos.gate import can_manage
from repos.git.errors import GitError
from repos.handles import git_repo
from repos.models import Repository
from repos.objects.crypto.spool import SpooledEncryptedFile
from repos.policy.upload import MAX_REGULAR_FILE_SIZE
from repos.services.commits import AddFile, AddLfsFile, CommitHeader, CommitOperation, commit_create
from safety.dataset_reports import (
    DatasetFile,
    dataset_files,
    detector,
    is_dataset_repo,
    opener_for,
    privacy_settings,
    pseudonym_secret,
    revision_reports,
)
from safety.models import DatasetRedaction
from safety.redaction import RedactionFailed, redact_file

logger = logging.getLogger(__name__)

_CHUNK = 1024 * 1024
SPOOL_MEMORY_BYTES = 64 * 1024 * 1024
# The redaction task's hard time limit (`safety.tasks.redact_dataset`): no live worker still
# runs a redaction started longer ago than this.
REDACTION_TIME_LIMIT_S = 3660
_MODE_TEXT = {"mask": "masked (<EMAIL_ADDRESS>, ...)", "pseudonym": "replaced by consistent pseudonyms"}


def redaction_request(*, repo: Repository, user: User, mode: str = "mask", revision: str | None = None,
                      ip: str | None = None) -> DatasetRedaction:
    """Queue a redaction of the files with findings at the head of `revision` (default: the
    default branch). The caller has checked the "settings" action. Refuses (409) while the
    report of that commit is not finished, and when it has nothing to redact."""
    if mode not in DatasetRedaction.Mode.values:
        raise Unprocessable(f"Unknown redaction mode {mode!r}: one of {', '.join(DatasetRedaction.Mode.values)}")
    if not is_dataset_repo(repo):
        raise Unprocessable("Only dataset repositories have personal-data reports")
    branch = revision or repo.default_branch
    git = git_repo(repo)
    try:
        sha = git.resolve(f"refs/heads/{branch}")
    except GitError:
        raise Conflict(f"Branch {branch!r} has no commit to redact") from None
    rows = revision_reports(repo=repo, git=git, sha=sha)
    if any(row.report is None for row in rows):
        raise Conflict("The personal-data report of this revision is not finished yet; try again shortly")
    paths = [row.file.path for row in rows if row.report is not None and row.report.has_findings]
    if not paths:
        raise Conflict(f"No dataset file of {branch} has personal-data findings: nothing to redact")
    privacy_settings(repo)
    if mode == DatasetRedaction.Mode.PSEUDONYM:
        pseudonym_secret(repo)  # made before the worker needs it; a missing master key is a 503 here
    with transaction.atomic():
        redaction = DatasetRedaction.objects.create(repository=repo, requested_by=user, revision=sha, branch=branch,
                                                    mode=mode, paths=paths)
        audit(action="repo.personal_data.redact", actor=user, target=str(repo), ip=ip, mode=mode, revision=sha,
              paths=paths[:100])
    from safety.tasks import redact_dataset

    redaction_pk = redaction.pk
    transaction.on_commit(lambda: redact_dataset.delay(redaction_pk), robust=True)
    return redaction


def redaction_run(*, redaction: DatasetRedaction) -> DatasetRedaction:
    """Run a queued job to its final state (never raises for the data: a failure is the state
    "failed" with its reason)."""
    updated = DatasetRedaction.objects.filter(pk=redaction.pk, state=DatasetRedaction.State.QUEUED).update(
        state=DatasetRedaction.State.RUNNING, started_at=timezone.now())
    if not updated:
        return redaction  # another worker took it (acks_late redelivery)
    redaction.state = DatasetRedaction.State.RUNNING
    try:
        result, pr_num = _run(redaction)
    except (RedactionFailed, HubError) as exc:
        _finish(redaction, state=DatasetRedaction.State.FAILED, error=str(getattr(exc, "message", exc)))
    except Exception as exc:  # noqa: BLE001 - a crash must end in a visible final state
        logger.exception("redaction %s failed", redaction.pk)
        _finish(redaction, state=DatasetRedaction.State.FAILED, error=f"internal error: {type(exc).__name__}")
    else:
        _finish(redaction, state=DatasetRedaction.State.SUCCEEDED, result=result, pr_num=pr_num)
    return redaction


def redactions_reap(*, now: datetime | None = None) -> dict[str, int]:
    """Periodic (`safety.reap_redactions`): a redaction still running after the task's hard time
    limit lost its worker (killed, machine gone): it fails, saying so, and can be requested
    again; one queued for longer than `HUB_JOB_QUEUED_STALE_SECONDS` is sent again (a lost
    broker message; a duplicate delivery runs it once, `redaction_run` takes only queued ones).
    Returns the counts."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=REDACTION_TIME_LIMIT_S + 60)
    orphaned = DatasetRedaction.objects.filter(state=DatasetRedaction.State.RUNNING).filter(
        Q(started_at__lt=stale) | Q(started_at__isnull=True, created_at__lt=stale))
    failed = orphaned.update(
        state=DatasetRedaction.State.FAILED, finished_at=now,
        error="The worker running this redaction stopped before it finished; nothing was changed. "
              "Request the redaction again.")
    lost_before = now - timedelta(seconds=float(settings.HUB_JOB_QUEUED_STALE_SECONDS))
    lost = list(DatasetRedaction.objects.filter(state=DatasetRedaction.State.QUEUED, created_at__lt=lost_before)
                .values_list("pk", flat=True)[:1000])
    if lost:
        from safety.tasks import redact_dataset

        for pk in lost:
            redact_dataset.delay(pk)
    if failed or lost:
        logger.warning("redactions reaped: %d orphaned run(s) failed, %d lost message(s) sent again", failed, len(lost))
    return {"failed": failed, "resent": len(lost)}


def _finish(redaction: DatasetRedaction, *, state: str, error: str = "", result: dict | None = None,
            pr_num: int | None = None) -> None:
    redaction.state = state
    redaction.error = error[:1000]
    redaction.result = result or {}
    redaction.pull_request_num = pr_num
    redaction.finished_at = timezone.now()
    redaction.save(update_fields=["state", "error", "result", "pull_request_num", "finished_at"])


def _run(redaction: DatasetRedaction) -> tuple[dict, int | None]:
    repo = redaction.repository
    user = redaction.requested_by
    if not user.is_active or not can_manage(user, repo):
        raise Conflict(f"{user.username} may no longer change this repository's settings")
    git = git_repo(repo)
    wanted = set(redaction.paths)
    files = [f for f in dataset_files(git=git, sha=redaction.revision) if f.path in wanted]
    secret = pseudonym_secret(repo) if redaction.mode == DatasetRedaction.Mode.PSEUDONYM else None
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="hub-redact-", dir=settings.TMP_ROOT) as spool:
        operations: list[CommitOperation] = []
        for file in files:
            # In memory up to SPOOL_MEMORY_BYTES; beyond, an encrypted spool in the data dir's
            # tmp (key in this process only): the copy, which keeps every other column of the
            # dataset, never touches the disk in plaintext, and nothing outlives the job.
            out = SpooledEncryptedFile(SPOOL_MEMORY_BYTES, spool, suffix=".redacted")
            try:
                with opener_for(repo=repo, git=git, file=file)() as src:
                    result = redact_file(src, out, format=file.format, mode=redaction.mode,  # type: ignore[arg-type]
                                         detector=detector(), secret=secret)
                operations.append(_operation(repo=repo, file=file, out=out))  # type: ignore[arg-type]
            finally:
                out.close()
            results[file.path] = result.as_dict()
        if not operations:
            raise Conflict("The files to redact are no longer in this revision")
        lines = [f"- `{path}`: {_summary(r)}" for path, r in results.items()]
        header = CommitHeader(
            summary="De-identify personal data",
            description=(f"Personal data found by the hub's report of {redaction.revision[:12]} is "
                         f"{_MODE_TEXT[redaction.mode]}; everything else is unchanged.\n\n" + "\n".join(lines)),
            parent_commit=redaction.revision)
        commit = commit_create(repo=repo, user=user, revision=redaction.branch, header=header,
                               operations=iter(operations), create_pr=True, draft=False)
    pr = commit.pull_request
    return {"files": results, "commit": commit.sha}, (pr.num if pr is not None else None)


def _operation(*, repo: Repository, file: DatasetFile, out: BinaryIO) -> CommitOperation:
    """The redacted copy as a commit operation: a regular file if the source was one and the
    copy still fits, otherwise an LFS object ingested through the byte door (which hashes it
    again on the way in and keeps it only if it matches)."""
    size = out.seek(0, 2)
    out.seek(0)
    if not file.is_lfs and size <= MAX_REGULAR_FILE_SIZE:
        return AddFile(path=file.path, content=out.read())
    digest = hashlib.sha256()
    for chunk in _chunks(out):
        digest.update(chunk)
    out.seek(0)
    oid = digest.hexdigest()
    objects.ingest(repo=repo, oid=oid, size=size, source=_chunks(out))
    return AddLfsFile(path=file.path, oid=oid, size=size)


def _chunks(f: BinaryIO) -> Iterator[bytes]:
    while chunk := f.read(_CHUNK):
        yield chunk


def _summary(result: dict) -> str:
    counts = ", ".join(f"{n} {entity}" for entity, n in sorted(result["replacements"].items()))
    nulled = f", {result['valuesNulled']} numeric values emptied" if result["valuesNulled"] else ""
    return f"{result['rowsChanged']} of {result['rows']} rows changed ({counts or 'nothing'}{nulled})"


def redaction_of(*, repo: Repository, redaction_id: int) -> DatasetRedaction | None:
    return DatasetRedaction.objects.filter(repository=repo, pk=redaction_id).first()


def recent_redactions(*, repo: Repository, limit: int = 10) -> list[DatasetRedaction]:
    return list(DatasetRedaction.objects.filter(repository=repo).select_related("requested_by")[:limit])

