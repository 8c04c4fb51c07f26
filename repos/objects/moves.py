"""Moving a repository's LFS objects into or out of encryption while the hub serves them.

A visibility change (`repos.services.encryption`) calls `object_settle` for every object linked
to the repository, in a Celery task. Invariants:

- **Always readable.** The new copy is written, verified and published before the old one is
  removed; the door's readers look for the repository's encrypted copy first, then for the
  shared plain one, so at every moment one of them serves (`door._open_content`). A reader that
  opened the old file keeps reading it to its end.
- **Verified.** Every copy is streamed through `LocalBackend.write_stream`, which checks the
  sha256 and size of the plaintext before publishing: a damaged source is never propagated.
- **No plaintext on disk for encrypted targets**: encrypting streams ciphertext only into the
  temporary file (decrypting to make a repository public writes plaintext, by definition).
- **Idempotent and restartable**: an object already in the wanted form is left alone, so the
  task can be re-run after a crash.
- **The shared plain copy is removed only when no other repository reads it** (all of them are
  encrypted and hold their own copy); public repositories keep theirs.
"""
from __future__ import annotations

import enum
import logging

from django.db import transaction

from repos.lfs.errors import LfsObjectNotFound
from repos.models import RepoLfsObject, Repository
from repos.objects.crypto.format import EncryptedChunks, EncryptedReader, read_header
from repos.objects.crypto.reencrypt import reencrypt_object
from repos.objects.door import encrypted_store, storage_backend
from repos.objects.encryption import active_data_key, crypto_errors_as_http, data_key_lookup, repo_encrypted

logger = logging.getLogger(__name__)


class Settled(enum.StrEnum):
    ENCRYPTED = "encrypted"  # a plain copy was encrypted into the repository's enclave
    REKEYED = "rekeyed"  # the enclave copy was re-encrypted under the active data key
    DECRYPTED = "decrypted"  # the enclave copy was decrypted into the shared store
    UNCHANGED = "unchanged"
    MISSING = "missing"  # linked, but no copy is stored (never uploaded whole)


def object_settle(*, repo: Repository, oid: str, size: int, rekey: bool = False) -> Settled:
    """Put object `oid` of `repo` in the form the repository's visibility asks for; with
    `rekey`, also re-encrypt an encrypted copy that is not under the active data key."""
    with crypto_errors_as_http():
        if repo_encrypted(repo):
            return _encrypt(repo, oid, size, rekey=rekey)
        return _decrypt(repo, oid, size)


def _encrypt(repo: Repository, oid: str, size: int, *, rekey: bool) -> Settled:
    enclave, shared = encrypted_store(repo), storage_backend()
    data_key = active_data_key(repo)
    path = enclave.path_for(oid)
    if path.is_file():
        if not rekey:
            _drop_shared_copy(repo, oid)
            return Settled.UNCHANGED
        with path.open("rb") as f:
            if read_header(f).key_id == data_key.key_id:
                return Settled.UNCHANGED
        reencrypt_object(path, oid=oid, target_key=data_key, key_for=data_key_lookup(repo), expected_sha256=oid,
                         source_encrypted=True)
        return Settled.REKEYED
    try:
        plain = shared.open(oid)
    except LfsObjectNotFound:  # nothing stored to move
        return Settled.MISSING
    with plain:
        enclave.write_stream(oid, size, plain,
                             transform=lambda chunks: EncryptedChunks(chunks, data_key=data_key, oid=oid, size=size,
                                                                     hash_plaintext=False))
    _drop_shared_copy(repo, oid)
    return Settled.ENCRYPTED


def _decrypt(repo: Repository, oid: str, size: int) -> Settled:
    enclave, shared = encrypted_store(repo), storage_backend()
    path = enclave.path_for(oid)
    if not path.is_file():
        return Settled.UNCHANGED if shared.size(oid) == size else Settled.MISSING
    if shared.size(oid) != size:
        f = path.open("rb", buffering=0)
        try:
            reader = EncryptedReader(f, data_key=data_key_lookup(repo)(read_header(f).key_id), oid=oid)
        except BaseException:
            f.close()
            raise
        with reader:
            shared.write_stream(oid, size, reader)
    enclave.delete(oid)
    return Settled.DECRYPTED


def _drop_shared_copy(repo: Repository, oid: str) -> None:
    """Remove the shared plain copy of `oid` unless another repository reads it."""
    if not storage_backend().exists(oid):
        return
    with transaction.atomic():
        others = (RepoLfsObject.objects.filter(lfs_object_id=oid).exclude(repository=repo)
                  .select_related("repository"))
        for link in others:
            other = link.repository
            if not repo_encrypted(other) or not encrypted_store(other).exists(oid):
                return  # a public repository (or one not yet moved) still reads the plain copy
        storage_backend().delete(oid)


def repo_objects_settle(*, repo: Repository, rekey: bool = False) -> dict[str, int]:
    """`object_settle` for every object linked to `repo`; counts per outcome."""
    counts: dict[str, int] = {}
    links = RepoLfsObject.objects.filter(repository=repo).values_list("lfs_object_id", "lfs_object__size")
    for oid, size in links.iterator():
        outcome = object_settle(repo=repo, oid=oid, size=size, rekey=rekey)
        counts[outcome.value] = counts.get(outcome.value, 0) + 1
    logger.info("encryption at rest: %s objects of %s settled: %s", sum(counts.values()), repo, counts)
    return counts
