"""The Xet CAS (XET.md §2-§5): CAS tokens, xorb uploads, shard registration, garbage collection.

Who may do what is decided once, when the hub hands out a CAS token (`cas_token_issue`, called
by the token endpoints after the gate): the token names one repository, a scope and the hub
principal it was issued to. Every CAS call re-reads that principal (`cas_principal`), so a
revoked hub token, a deactivated account or a lost role stops a CAS token at once, as it stops
an LFS upload.

Provenance (XET.md §5.4), the same rule as for LFS objects: a xorb or a registered file is
usable through a repository only when it came in *for* that repository. What a shard may
reference is wider than what a dedup answer may show:

* a shard of repository R may reference xorbs of R, of public repositories, and of any
  repository its uploader may read (hf_xet's local cache dedups across every repository a
  user uploads to; the verification hashes prove the uploader holds those chunks);
* a dedup answer for R only names xorbs of R and of public, ungated repositories, so it never
  confirms that a chunk exists in a repository R's readers may not read.

Every verified file is materialized as an ordinary sha256 LFS object through
`repos.objects.ingest` (ingest filters, scanning and encryption apply) and linked to R, so a
commit's `lfsFile` entries find it like any uploaded object, and git-lfs, `/resolve/` and old
clients read it unchanged.
"""
from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import BinaryIO, Literal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import AccessToken, User
from accounts.permissions import Principal, current_principal, is_signed_in
from hub.exceptions import Forbidden, HubError, RepoNotFound, Unauthorized
from hub.http.urls import public_url
from repos import objects
from repos.gate import Action, can_download, check_access, repos_visible_to
from repos.models import (
    Repository,
    RepoXetFile,
    RepoXetXorb,
    XetDedupChunk,
    XetFile,
    XetFileXorb,
    XetShard,
    XetXorb,
)
from repos.objects import xet as xet_store
from repos.objects.encryption import repo_encrypted
from repos.policy.upload import check_lfs_object_size
from repos.selectors.lfs import repo_by_storage_key
from repos.xet import errors as xet_errors
from repos.xet.hashes import MerkleHash, is_global_dedup_eligible, new_dedup_key
from repos.xet.reconstruction import XorbLookup, chunk_reader, iter_file_bytes
from repos.xet.shard import ShardLimits, ShardXorb, dedup_answer_shard, read_shard
from repos.xet.tokens import CasTokenClaims, Scope, bearer_token, issue_cas_token, verify_cas_token
from repos.xet.verify import VerifiedFile, verify_sha256, verify_shard

logger = logging.getLogger(__name__)

Purpose = Literal["register", "dedup"]
SHARD_LIMITS = ShardLimits()
_COPY_CHUNK = 1024 * 1024
# How many xorbs one dedup answer names at most: 64 xorbs (4 GiB of content) make a shard of
# about 3 MiB, which the client caches for the answer's lifetime.
_DEDUP_MAX_XORBS = 64


# --------------------------------------------------------------------------- configuration


def cas_url() -> str:
    """The `casUrl` clients append `/v1/...` to (no trailing slash)."""
    return public_url("xet").rstrip("/")


def _secret(purpose: str) -> bytes:
    # One key per purpose, derived from SECRET_KEY: a CAS token is never a valid fetch
    # signature, and neither is anything else SECRET_KEY signs.
    return hashlib.sha256(f"modelhub-xet-{purpose}:".encode() + settings.SECRET_KEY.encode()).digest()


def token_secret() -> bytes:
    return _secret("cas-token")


def fetch_secret() -> bytes:
    return _secret("fetch-url")


def _now() -> int:
    return int(time.time())


# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class CasPrincipal:
    """A verified CAS token: the repository it is for, and who it was issued to, as they are now."""

    repo: Repository
    user: Principal
    token: AccessToken | None
    claims: CasTokenClaims

    @property
    def reader(self) -> str:
        """Who fetch URLs are minted for (bound into their signature)."""
        return self.claims.user_key or "anonymous"


def write_action(*, revision: str | None, create_pr: bool) -> Action:
    """What a write token needs: pushing to a branch takes write access; a pull request (a new
    one, `rev=None` / `create_pr=1`, or a `refs/pr/N`) the right to propose changes. The push
    policy still judges the commit that follows, as for every other upload."""
    if create_pr or revision is None or revision.startswith("refs/pr/"):
        return "contribute"
    return "write"


def cas_token_issue(*, repo: Repository, user: Principal, token: AccessToken | None, scope: Scope,
                    revision: str | None, create_pr: bool) -> tuple[str, int]:
    """A CAS token for `repo` (the caller already passed the gate for it); returns (token, exp).

    It lives `HUB_XET_TOKEN_TTL` seconds, never longer than the hub token it was asked with."""
    expires_at = _now() + int(settings.HUB_XET_TOKEN_TTL)
    if token is not None and token.expires_at is not None:
        expires_at = min(expires_at, int(token.expires_at.timestamp()))
    user_key = f"{user.pk}.{token.pk if token is not None else 0}" if is_signed_in(user) else None
    claims = CasTokenClaims(repo_key=repo.storage_key.hex, revision=revision, scope=scope, user_key=user_key,
                            create_pr=create_pr, expires_at=expires_at)
    return issue_cas_token(token_secret(), claims), expires_at


def cas_principal(authorization: str | None, *, scope: Scope) -> CasPrincipal:
    """The principal of a CAS call: 401 for a missing, forged or expired token or one whose
    hub principal lost access; 403 for a read token on a write route."""
    raw = bearer_token(authorization)
    try:
        claims = verify_cas_token(token_secret(), raw or "", now=_now())
    except xet_errors.InvalidCasToken as exc:
        raise Unauthorized(str(exc)) from None
    if not claims.allows(scope):
        raise Forbidden("This CAS token only allows reading")
    return _principal_for(claims)


def _principal_for(claims: CasTokenClaims) -> CasPrincipal:
    repo = repo_by_storage_key(key=claims.repo_key)
    if repo is None:
        raise Unauthorized("CAS token for a repository that no longer exists")
    user, token = _principal_of(claims.user_key)
    try:
        if claims.scope == "write":
            check_access(user, repo, write_action(revision=claims.revision, create_pr=claims.create_pr),
                         token=token)
        elif not can_download(user, repo, token=token):
            raise RepoNotFound()
    except (RepoNotFound, Forbidden):
        raise Unauthorized("The CAS token's owner no longer has access to this repository") from None
    return CasPrincipal(repo=repo, user=user, token=token, claims=claims)


def _principal_of(user_key: str | None) -> tuple[Principal, AccessToken | None]:
    from django.contrib.auth.models import AnonymousUser

    if user_key is None:
        return AnonymousUser(), None
    try:
        user_id, token_id = (int(part) for part in user_key.split("."))
        user = User.objects.get(pk=user_id)
        token = AccessToken.objects.get(pk=token_id, user=user) if token_id else None
    except (ValueError, User.DoesNotExist, AccessToken.DoesNotExist):
        raise Unauthorized("The CAS token's owner no longer exists") from None
    return current_principal(user, token)


# --------------------------------------------------------------------------- visibility


def _repos_for(principal: CasPrincipal, purpose: Purpose) -> QuerySet[Repository]:
    if purpose == "dedup":
        return Repository.objects.filter(Q(pk=principal.repo.pk) | Q(private=False, gated=""))
    visible = repos_visible_to(principal.user, token=principal.token).filter(gated="")
    return Repository.objects.filter(Q(pk=principal.repo.pk) | Q(pk__in=visible.values("pk")))


def visible_xorb_lookup(principal: CasPrincipal, purpose: Purpose) -> XorbLookup:
    """A `XorbLookup` that sees only the xorbs `principal` may use for `purpose` (module doc);
    any other xorb looks absent, whether it exists or not."""
    repos = _repos_for(principal, purpose)
    seen: dict[MerkleHash, bool] = {}

    def lookup(h: MerkleHash) -> xet_store.XorbInfo | None:
        if h not in seen:
            seen[h] = RepoXetXorb.objects.filter(xorb_id=h.hex(), repository__in=repos).exists()
        return xet_store.xorb_info(h) if seen[h] else None

    return lookup


# --------------------------------------------------------------------------- xorbs


def xorb_upload(*, principal: CasPrincipal, xorb: MerkleHash, source: BinaryIO) -> bool:
    """Store a xorb uploaded for `principal.repo` (`XetFormatError` if it is not the xorb it
    claims to be); returns whether it was new to the store. Stored encrypted when the
    repository is (`repos.objects.xet`)."""
    info, inserted = xet_store.xorb_store(expected=xorb, source=source, encrypt=repo_encrypted(principal.repo))
    key = xorb.hex()
    now = timezone.now()
    with transaction.atomic():
        row, created = XetXorb.objects.get_or_create(hash=key, defaults={
            "num_chunks": info.num_chunks, "serialized_length": info.serialized_length,
            "uncompressed_length": info.uncompressed_length, "touched_at": now})
        if not created:
            XetXorb.objects.filter(pk=key).update(touched_at=now)
        RepoXetXorb.objects.bulk_create([RepoXetXorb(repository=principal.repo, xorb=row)], ignore_conflicts=True)
        XetDedupChunk.objects.bulk_create(
            [XetDedupChunk(chunk_hash=c.hash.hex(), xorb=row, chunk_index=i)
             for i, c in enumerate(info.chunks) if is_global_dedup_eligible(c.hash)], ignore_conflicts=True)
    return inserted


# --------------------------------------------------------------------------- shards


def shard_register(*, principal: CasPrincipal, body: Iterable[bytes]) -> int:
    """Verify an uploaded shard (XET.md §5.2) and register its files for `principal.repo`;
    returns 1 if anything was new, else 0. Raises `XetFormatError` / `XetVerificationError`
    (or the byte door's errors: a scanner refusing a file) and registers nothing of a shard
    that fails; files are materialized one by one, so a later failure leaves earlier ones."""
    with xet_store.shard_staging() as staged:
        digest = hashlib.sha256()
        size = 0
        for chunk in body:
            size += len(chunk)
            if size > SHARD_LIMITS.max_bytes:
                raise xet_errors.LimitExceeded(f"shard larger than {SHARD_LIMITS.max_bytes} bytes")
            digest.update(chunk)
            staged.file.write(chunk)
        staged.file.seek(0)
        shard = read_shard(staged.file, limits=SHARD_LIMITS)  # type: ignore[arg-type]
        verified = verify_shard(shard, lookup=visible_xorb_lookup(principal, "register"))
        for vf in verified:
            reason = check_lfs_object_size(vf.size)
            if reason:
                raise xet_errors.FileSizeLimitExceeded(reason)
        new = sum(_file_register(principal, vf) for vf in verified)
        sha = digest.hexdigest()
        staged.publish(sha)
        XetShard.objects.get_or_create(sha256=sha, defaults={"size": size, "repository": principal.repo})
    return 1 if new else 0


def _file_register(principal: CasPrincipal, vf: VerifiedFile) -> int:
    """Materialize and index one verified file for the principal's repository; 1 if new."""
    key = vf.file_hash.hex()
    repo = principal.repo
    known = XetFile.objects.filter(pk=key).first()
    new = 0
    if known is not None and known.size == vf.size and vf.claimed_sha256 in (None, known.sha256) \
            and objects.stored_whole(oid=known.sha256, size=known.size):
        # Registered and verified before; this uploader proved possession of every chunk
        # (verification hashes), so the object they describe is theirs to link.
        objects.link(repo=repo, oid=known.sha256, size=known.size)
    else:
        sha = _materialize(principal, vf)
        with transaction.atomic():
            _, created = XetFile.objects.get_or_create(file_hash=key, defaults={
                "sha256": sha, "size": vf.size,
                "segments": [[s.xorb_hash.hex(), s.chunk_start, s.chunk_end, s.unpacked_bytes] for s in vf.segments]})
            try:
                with transaction.atomic():
                    XetFileXorb.objects.bulk_create(
                        [XetFileXorb(file_id=key, xorb_id=h) for h in {s.xorb_hash.hex() for s in vf.segments}],
                        ignore_conflicts=True)
            except IntegrityError:  # a xorb collected under our feet: as if it never existed
                raise xet_errors.UnknownXorb("the shard references a xorb that does not exist") from None
        new = int(created)
    RepoXetFile.objects.bulk_create([RepoXetFile(repository=repo, file_id=key)], ignore_conflicts=True)
    if vf.segments:
        first = vf.segments[0]
        info = xet_store.xorb_info(first.xorb_hash)
        if info is not None:
            XetDedupChunk.objects.bulk_create([XetDedupChunk(
                chunk_hash=info.chunks[first.chunk_start].hash.hex(), xorb_id=first.xorb_hash.hex(),
                chunk_index=first.chunk_start)], ignore_conflicts=True)
    return new


def _materialize(principal: CasPrincipal, vf: VerifiedFile) -> str:
    """Reconstruct the file into the LFS store under its sha256, verified on the way (the
    claim of the shard, or the hash of a first pass when it claims none); returns the sha256."""
    read_chunks = chunk_reader(lookup=xet_store.xorb_info, open_range=xet_store.xorb_open_range)
    sha = vf.claimed_sha256 or verify_sha256(vf, read_chunks=read_chunks)
    try:
        objects.ingest(repo=principal.repo, oid=sha, size=vf.size,
                       source=iter_file_bytes(vf.segments, read_chunks=read_chunks),
                       admit=lambda: _admit(principal))
    except objects.ObjectVerifyError:
        raise xet_errors.Sha256Mismatch("the claimed sha256 is not the sha256 of the file's bytes") from None
    return sha


def _admit(principal: CasPrincipal) -> None:
    """The uploader's access, checked again once a long materialization ends."""
    _principal_for(principal.claims)


def repo_xorbs_encrypt(*, repo: Repository) -> int:
    """Encrypt the plain xorbs `repo` uses (it became private or opted in; `repos.objects.xet`):
    those uploaded for it and those its files read from. Returns how many were encrypted;
    repeatable. Xorbs are never decrypted when a repository becomes public again: another
    encrypted repository may share them, and they read the same either way."""
    uploaded = RepoXetXorb.objects.filter(repository=repo).values_list("xorb_id", flat=True)
    read = XetFileXorb.objects.filter(file__repositories__repository=repo).values_list("xorb_id", flat=True)
    done = 0
    for key in sorted(set(uploaded.iterator()) | set(read.iterator())):
        done += int(xet_store.xorb_encrypt(MerkleHash.from_hex(key)))
    return done


# --------------------------------------------------------------------------- dedup


def dedup_answer(*, principal: CasPrincipal, chunk: MerkleHash) -> bytes | None:
    """The shard answering `GET /v1/chunks/{prefix}/{chunk}`, or None (404: no match). Names
    only xorbs visible to the principal's repository for dedup; chunk hashes keyed with a fresh
    random key (XET.md §4.6).

    Besides the xorbs holding the chunk it names the other xorbs of the files those belong to
    (up to `_DEDUP_MAX_XORBS`): the client asks about few chunks (a file's first, and one in
    ~1024), so a re-upload of a changed checkpoint would otherwise miss every xorb of the old
    version whose chunks it never asked about, and upload them again."""
    repos = _repos_for(principal, "dedup")
    visible = RepoXetXorb.objects.filter(repository__in=repos).values("xorb_id")
    hits = dict(XetDedupChunk.objects.filter(chunk_hash=chunk.hex(), xorb_id__in=visible)
                .values_list("xorb_id", "chunk_index")[:_DEDUP_MAX_XORBS])
    if not hits:
        return None
    files = XetFileXorb.objects.filter(xorb_id__in=list(hits)).values("file_id")
    siblings = (XetFileXorb.objects.filter(file_id__in=files, xorb_id__in=visible).exclude(xorb_id__in=list(hits))
                .values_list("xorb_id", flat=True).distinct()[:_DEDUP_MAX_XORBS - len(hits)])
    blocks = []
    for xorb_hex in [*hits, *siblings]:
        info = xet_store.xorb_info(MerkleHash.from_hex(xorb_hex))
        if info is not None:
            index = hits.get(xorb_hex)
            blocks.append(ShardXorb.from_xorb_info(info, dedup_chunks=[index] if index is not None else []))
    if not blocks:
        return None
    XetXorb.objects.filter(pk__in=[b.hash.hex() for b in blocks]).update(touched_at=timezone.now())
    return dedup_answer_shard(blocks, key=new_dedup_key(), now=_now(), ttl_seconds=int(settings.HUB_XET_DEDUP_TTL))


# --------------------------------------------------------------------------- lifecycle


@dataclass
class GcStats:
    files: int = 0
    xorbs: int = 0
    xorb_files: int = 0
    shards: int = 0


def xet_collect_garbage(*, grace: timedelta, limit: int = 10_000) -> GcStats:
    """Delete what no repository uses any more, once it has been unused for `grace` (longer
    than a dedup answer lives, so a client never references a xorb collected since):

    * files registered for no repository (their repositories were deleted);
    * xorbs no file reads from (uploads whose shard never came, files collected above);
    * stored xorb files without a row (a crash between storing and indexing);
    * shards of deleted repositories.

    At most `limit` of each per run; the periodic task runs it again."""
    stats = GcStats()
    cutoff = timezone.now() - grace
    orphan_files = list(XetFile.objects.filter(repositories__isnull=True, created_at__lt=cutoff)
                        .values_list("pk", flat=True)[:limit])
    _, per_model = XetFile.objects.filter(pk__in=orphan_files, repositories__isnull=True).delete()
    stats.files = per_model.get(XetFile._meta.label, 0)
    orphan_xorbs = list(XetXorb.objects.filter(file_refs__isnull=True, touched_at__lt=cutoff)
                        .values_list("pk", flat=True)[:limit])
    for key in orphan_xorbs:
        with transaction.atomic():
            deleted, _ = XetXorb.objects.filter(pk=key, file_refs__isnull=True, touched_at__lt=cutoff).delete()
        if deleted:
            xet_store.xorb_delete(key)
            stats.xorbs += 1
    cutoff_ts = cutoff.timestamp()
    seen = 0
    for key, mtime in xet_store.stored_xorb_keys():
        seen += 1
        if seen > limit * 10:
            break
        if mtime < cutoff_ts and not XetXorb.objects.filter(pk=key).exists():
            stats.xorb_files += int(xet_store.xorb_delete(key))
    for sha in list(XetShard.objects.filter(repository__isnull=True, created_at__lt=cutoff)
                    .values_list("pk", flat=True)[:limit]):
        xet_store.shard_delete(sha)
        XetShard.objects.filter(pk=sha).delete()
        stats.shards += 1
    return stats


def as_hub_error(exc: xet_errors.XetError) -> HubError:
    """A Xet format or verification error as the 400 the CAS answers (never retried)."""
    from hub.exceptions import BadRequest

    if isinstance(exc, xet_errors.XetVerificationError):
        logger.warning("refused Xet shard claim: %s: %s", type(exc).__name__, exc)
    return BadRequest(str(exc))
