"""Scanning the files of a repository and storing the verdicts (the Django side of the
pure scanners in `safety.scanners`).

Every file is scanned by its bytes, never by its name: the pickle scanner sniffs the content
(zip-based torch files, compressed streams, npy, plain pickles of any protocol), so a
`model.safetensors` that is really a pickle is judged as one. Text files up to
`SECRETS_MAX_BYTES` are also scanned for secrets. Bytes come through the byte door (LFS
objects, `repos.objects.open_object`) or the git layer (plain blobs, at most 10 MiB by the
upload policy); both are streamed to the scanners, which bound bytes and time themselves.
With `HUB_CLAMD_SOCKET` or `HUB_CLAMD_ADDRESS` set, every file is also streamed to ClamAV's
daemon (`safety.scanners.antivirus`): a virus makes it "unsafe"; clamd giving no verdict is a
failed scan ("error", retried), and a file over `HUB_CLAMD_MAX_BYTES` is "unscanned".
"""
from __future__ import annotations

import io
import logging
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.services.tokens import token_revoke_leaked
from repos import objects
from repos.git.errors import GitError, TreeTooLarge
from repos.git.repository import GitRepo
from repos.handles import git_repo, walk_limits
from repos.models import Repository
from repos.selectors.files import repo_entry
from safety.models import FileScan, path_digest_of
from safety.scanners.antivirus import ClamdAddress, ClamdError, ClamdLimits, clamd_scan
from safety.scanners.pickles import ModelFileScan, ScanLimits, scan_model_file
from safety.scanners.secrets import SecretFinding, SecretScanLimits, SecretsScan, scan_text_for_secrets

logger = logging.getLogger(__name__)

# Bumped when the scanners or their allow-lists change: older verdicts are then scanned again.
SCANNER_VERSION = "pickles-1/secrets-1"
# Added to it while a malware scanner is configured (`scanner_version()`): verdicts made without
# one do not stand then, nor verdicts made with one once it is turned off.
AV_SCANNER_VERSION = "clamav-1"
# A revision with more files than this is scanned up to it (the rest stay "queued").
MAX_FILES_PER_REVISION = 20_000
SECRETS_MAX_BYTES = 10 * 1024 * 1024
PICKLE_LIMITS = ScanLimits(max_seconds=600.0)
SECRET_LIMITS = SecretScanLimits(max_bytes=SECRETS_MAX_BYTES)

Opener = Callable[[], BinaryIO]


def antivirus() -> tuple[ClamdAddress, ClamdLimits] | None:
    """The configured clamd (settings `HUB_CLAMD_*`), or None: no malware scanner."""
    address = ClamdAddress.from_settings(unix_socket=settings.HUB_CLAMD_SOCKET, address=settings.HUB_CLAMD_ADDRESS)
    if address is None:
        return None
    return address, ClamdLimits(max_bytes=settings.HUB_CLAMD_MAX_BYTES,
                                connect_timeout=settings.HUB_CLAMD_CONNECT_TIMEOUT,
                                io_timeout=settings.HUB_CLAMD_TIMEOUT, max_seconds=PICKLE_LIMITS.max_seconds)


def scanner_version() -> str:
    """The version stored with each verdict; only verdicts of the current one stand."""
    if settings.HUB_CLAMD_SOCKET or settings.HUB_CLAMD_ADDRESS:
        return f"{SCANNER_VERSION}/{AV_SCANNER_VERSION}"
    return SCANNER_VERSION


@dataclass(frozen=True)
class RevisionFile:
    """A file of a revision as scanning sees it: its content id (LFS sha256 or blob id)."""

    path: str
    oid: str
    size: int
    is_lfs: bool
    blob_oid: str


def revision_files(*, git: GitRepo, sha: str, limit: int = MAX_FILES_PER_REVISION) -> Iterator[RevisionFile]:
    """The files of commit `sha`, LFS pointers resolved, bounded by the walk limits and `limit`."""
    try:
        for n, tree_entry in enumerate(git.iter_files(sha, limits=walk_limits())):
            if n >= limit:
                logger.warning("scan of %s stopped after %d files", sha, limit)
                return
            entry = repo_entry(git, tree_entry)
            yield RevisionFile(path=entry.path, oid=entry.etag, size=entry.size, is_lfs=entry.lfs is not None,
                               blob_oid=entry.oid)
    except TreeTooLarge as exc:
        logger.warning("scan of %s stopped at the walk limits: %s", sha, exc)


def opener_for(*, repo: Repository, git: GitRepo, file: RevisionFile) -> Opener:
    if file.is_lfs:
        return lambda: objects.open_object(repo=repo, oid=file.oid)
    return lambda: io.BytesIO(git.read_blob(file.blob_oid))


HUB_TOKEN_TYPE = "Hugging Face Token"
# The reason of an "error" verdict whose bytes could not be read (not a verdict on the content).
FAILED_PREFIX = "scan failed: "


def scan_bytes(open_content: Opener, *, size: int,
               on_hub_token: Callable[[str], None] | None = None) -> tuple[ModelFileScan, SecretsScan | None]:
    """Every scanner over one file's content (opened once per scanner, streamed): pickles,
    malware (clamd, when configured: `ClamdError` when it gives no verdict), secrets.

    The one copy the pickle scanner makes (a zip inside a compressed stream, spooled to be
    seekable) is encrypted on disk, so private repositories' files are scanned the same way.
    `on_hub_token(value)` gets each hub-format token found in the text (the value itself: for
    revocation, never stored)."""
    with tempfile.TemporaryDirectory(prefix="hub-scan-") as spool, open_content() as f:
        verdict = scan_model_file(f, limits=PICKLE_LIMITS, spool_dir=spool)
    av = antivirus()
    if av is not None:
        address, limits = av
        with open_content() as f:
            found = clamd_scan(f, size=size, address=address, limits=limits)
        verdict = verdict.with_av_scan(found.av_scan) if found.av_scan is not None else \
            verdict.with_av_not_scanned(found.not_scanned)
    secrets = None
    if size <= SECRETS_MAX_BYTES and not verdict.pickle_found:
        def on_secret(finding: SecretFinding, value: str) -> None:
            if on_hub_token is not None and finding.type == HUB_TOKEN_TYPE:
                on_hub_token(value)

        with open_content() as f:
            secrets = scan_text_for_secrets(f, limits=SECRET_LIMITS, on_secret=on_secret)
    return verdict, secrets


def _fields(verdict: ModelFileScan, secrets: SecretsScan | None) -> dict:
    level = verdict.highest_safety_level
    return {
        "status": verdict.status, "pickle_found": verdict.pickle_found,
        "highest_safety_level": level.value if level is not None else "",
        "imports": [i.as_hub() for i in verdict.imports], "reasons": list(verdict.reasons),
        "av_scan": verdict.av_scan.as_hub() if verdict.av_scan is not None else None,
        "secrets": [s.as_dict() for s in secrets.findings] if secrets is not None else [],
        "scanner_version": scanner_version(), "scanned_at": timezone.now(),
    }


def _copy_fields(scan: FileScan) -> dict:
    return {name: getattr(scan, name) for name in (
        "status", "pickle_found", "highest_safety_level", "imports", "reasons", "av_scan", "secrets",
        "scanner_version", "scanned_at")}


_BATCH = 500


def _current(repo: Repository) -> QuerySet[FileScan]:
    """The verdicts of `repo` that stand: this scanner version, not queued, and not a read
    failure (retried by the next scan, `FAILED_PREFIX`)."""
    return FileScan.objects.filter(repository=repo, scanner_version=scanner_version()).exclude(
        status=FileScan.Status.QUEUED).exclude(status=FileScan.Status.ERROR, reasons__0__startswith=FAILED_PREFIX)


def file_scan(*, repo: Repository, path: str, oid: str, size: int, open_content: Opener) -> FileScan:
    """The current verdict on content `oid` at `path` of `repo`: an existing one (of any path
    with the same content) is reused, otherwise the content is scanned now. Never raises for
    the content: a scanner failure is the verdict "error"."""
    # A verdict stands unless the scan itself failed (the bytes could not be read): that one is
    # retried on the next scan of a revision holding the file (`FAILED_PREFIX`).
    done = _current(repo).filter(oid=oid)
    same = done.filter(path=path).first()
    if same is not None:
        return same
    other = done.first()
    if other is not None:
        fields = _copy_fields(other)
    else:
        try:
            leaked: list[str] = []
            verdict, secrets = scan_bytes(open_content, size=size, on_hub_token=leaked.append)
            fields = _fields(verdict, secrets)
            fields["secrets"] = _revoke_leaked(repo=repo, path=path, tokens=leaked, findings=fields["secrets"])
        except ClamdError as exc:  # clamd down, too slow, or answering ERROR: retried like a read failure
            logger.warning("malware scan of %s:%s (%s) failed: %s", repo.repo_id, path, oid, exc)
            fields = {"status": FileScan.Status.ERROR, "reasons": [f"{FAILED_PREFIX}malware scanner: {exc}"],
                      "scanner_version": scanner_version(), "scanned_at": timezone.now()}
        except Exception as exc:  # noqa: BLE001 - the object vanished, the disk failed: a status too
            logger.exception("scan of %s:%s (%s) failed", repo.repo_id, path, oid)
            fields = {"status": FileScan.Status.ERROR, "reasons": [f"{FAILED_PREFIX}{type(exc).__name__}"],
                      "scanner_version": scanner_version(), "scanned_at": timezone.now()}
    return _store(repo=repo, oid=oid, path=path, size=size, fields=fields)


def _revoke_leaked(*, repo: Repository, path: str, tokens: list[str], findings: list[dict]) -> list[dict]:
    """Revoke this hub's tokens found in a public repository's file (SECURITY.md T55: anyone
    can read them there); the findings say so. Tokens in private repositories are reported to
    the writers, not revoked: they may be the owner's own, in a place only they can read."""
    if not tokens or repo.private:
        return findings
    revoked = sum(token_revoke_leaked(key=key, where=f"{repo.repo_id}:{path}") for key in dict.fromkeys(tokens))
    if revoked:
        for finding in findings:
            if finding.get("type") == HUB_TOKEN_TYPE:
                finding["revoked"] = True
        logger.warning("revoked %d hub token(s) found in %s:%s", revoked, repo.repo_id, path)
    return findings


def _store(*, repo: Repository, oid: str, path: str, size: int, fields: dict) -> FileScan:
    try:
        with transaction.atomic():
            scan, _ = FileScan.objects.update_or_create(repository=repo, oid=oid, path_digest=path_digest_of(path),
                                                        defaults={"path": path, "size": size, **fields})
    except IntegrityError:  # a concurrent scan of the same file stored it first
        scan = FileScan.objects.get(repository=repo, oid=oid, path_digest=path_digest_of(path))
    return scan


def revision_scan(*, repo: Repository, sha: str) -> dict[str, int]:
    """Scan every file of commit `sha` of `repo` that has no current verdict; returns counts
    by status, plus "failed": the errors that were read failures (the task retries those).
    Runs in the worker (`safety.scan_revision`)."""
    git = git_repo(repo)
    counts: dict[str, int] = {}
    files = list(revision_files(git=git, sha=sha))
    for start in range(0, len(files), _BATCH):
        batch = files[start:start + _BATCH]
        # One query per batch for the files already judged at their path (most of them, in a
        # commit that changes a few files of a large repository).
        known = {(row.path, row.oid): (row.status, row.reasons) for row in _current(repo).filter(
            oid__in={f.oid for f in batch}).only("path", "oid", "status", "reasons")}
        for file in batch:
            found = known.get((file.path, file.oid))
            if found is None:
                scan = file_scan(repo=repo, path=file.path, oid=file.oid, size=file.size,
                                 open_content=opener_for(repo=repo, git=git, file=file))
                found = (scan.status, scan.reasons)
            status, reasons = found
            counts[status] = counts.get(status, 0) + 1
            if status == FileScan.Status.ERROR and reasons and str(reasons[0]).startswith(FAILED_PREFIX):
                counts["failed"] = counts.get("failed", 0) + 1
    return counts


def resolve_commit(git: GitRepo, rev: str) -> str | None:
    try:
        return git.resolve(rev)
    except GitError:
        return None


def job_file_guard(repo: Repository, sha: str) -> set[str]:
    """The jobs' file guard (settings `HUB_JOB_FILE_GUARDS`): the paths of commit `sha` a job
    must not load. A job may start before the worker scanned a fresh commit, so files without
    a verdict are scanned here first (in the job's worker, bounded like every scan; known
    content costs one query); then every verdict but "safe" is flagged. An LFS file whose object
    is not stored at all is left to the snapshot, which fails on it with that reason."""
    from safety.selectors import flagged_paths  # selectors import this module

    revision_scan(repo=repo, sha=sha)
    flagged = flagged_paths(repo, sha)
    git = git_repo(repo)
    missing = {f.path for f in revision_files(git=git, sha=sha)
               if f.path in flagged and f.is_lfs and objects.find(repo=repo, oid=f.oid) is None}
    return flagged - missing
