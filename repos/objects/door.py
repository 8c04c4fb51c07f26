"""The byte door's implementation (see the package docstring for the rules)."""
from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from django.core.files.storage import storages
from django.db import IntegrityError, transaction

from hub.exceptions import out_of_space_as_507
from repos.gate import linked_object, linked_objects
from repos.lfs.errors import LfsObjectNotFound, LfsVerifyError
from repos.models import LfsObject, RepoLfsObject, Repository
from repos.objects.backends.local import LocalBackend, Source
from repos.objects.crypto.errors import DecryptionError
from repos.objects.crypto.format import EncryptedChunks, EncryptedReader, open_plaintext, plaintext_size
from repos.objects.encryption import active_data_key, crypto_errors_as_http, data_key_lookup, repo_encrypted
from repos.objects.filters import ObjectRef, ingest_filters, read_filters

ObjectNotFound = LfsObjectNotFound
ObjectVerifyError = LfsVerifyError

_HASH_CHUNK = 1024 * 1024


def stored_whole(*, oid: str, size: int) -> bool:
    """Whether the store holds object `oid` with exactly `size` bytes (no permission check:
    for services that already proved the caller may link it)."""
    return storage_backend().size(oid) == size


def storage_backend() -> LocalBackend:
    """The backend of the named storage "lfs" (`STORAGES["lfs"]`; local files by default)."""
    backend = storages["lfs"]
    assert isinstance(backend, LocalBackend), "STORAGES['lfs'] must name a byte-door backend"
    return backend


def encrypted_store(repo: Repository) -> LocalBackend:
    """Where `repo`'s encrypted objects live: its own enclave of the store, so deduplication of
    encrypted bytes never crosses repositories (`LocalBackend.enclave`)."""
    return storage_backend().enclave(repo.storage_key.hex)


def _store_for_new(repo: Repository) -> LocalBackend:
    return encrypted_store(repo) if repo_encrypted(repo) else storage_backend()


def _stored_size(repo: Repository, oid: str) -> int | None:
    """The content size of the copy of `oid` that `repo` reads, or None when there is none.

    `repo` reads its own encrypted copy when there is one, else the shared plain copy (a
    visibility change moves objects between the two while the hub serves; at every moment at
    least one of them exists, `repos.services.encryption`). An encrypted file whose length
    disagrees with its header is not stored whole: as if it were missing.
    """
    try:
        f = encrypted_store(repo).path_for(oid).open("rb", buffering=0)
    except FileNotFoundError:
        return storage_backend().size(oid)
    with f:
        try:
            return plaintext_size(f)
        except DecryptionError:
            return None


def _open_content(repo: Repository, oid: str) -> BinaryIO:
    """The stored copy `repo` reads, as a seekable reader of its plaintext (a plain file,
    sendfile-able, or an authenticated `EncryptedReader`)."""
    enc_path = encrypted_store(repo).path_for(oid)
    # Twice: a visibility change may publish the other copy and remove this one between the
    # two opens; it never removes one copy before the other is in place.
    for _attempt in range(2):
        try:
            with crypto_errors_as_http():
                return open_plaintext(enc_path, oid=oid, key_for=data_key_lookup(repo), encrypted=True)  # type: ignore[return-value]
        except FileNotFoundError:
            pass
        try:
            return storage_backend().open(oid)
        except LfsObjectNotFound:
            continue
    raise ObjectNotFound(f"LFS object {oid} not found")


def unlink(*, repo: Repository, oids: Iterable[str]) -> int:
    """`repo` no longer holds the objects `oids` (`permanently_delete_lfs_files`): it can no
    longer serve or reference them, whoever knows the sha256. Bytes still linked to another
    repository stay for it. Returns how many links were removed."""
    deleted, _ = RepoLfsObject.objects.filter(repository=repo, lfs_object_id__in=list(oids)).delete()
    return deleted


def link(*, repo: Repository, oid: str, size: int) -> None:
    """Record that `repo` holds the (already stored and verified) object `oid`. Idempotent, and
    safe against a concurrent upload of the same object."""
    with transaction.atomic():
        obj, _ = LfsObject.objects.get_or_create(oid=oid, defaults={"size": size})
        try:
            with transaction.atomic():
                RepoLfsObject.objects.get_or_create(repository=repo, lfs_object=obj)
        except IntegrityError:
            pass  # the same upload finished in another request first


def ingest(*, repo: Repository, oid: str, size: int, source: Source,
           admit: Callable[[], None] | None = None) -> None:
    """Stream an object into the store for `repo` and link it there.

    The bytes are hashed and counted on their way to a temporary file and become visible only
    if they are exactly `size` bytes hashing to `oid` and every ingest filter accepts them;
    otherwise ObjectVerifyError (or the filter's HubError) is raised and nothing is kept; on a
    full disk, InsufficientStorage (507) and nothing is kept either. Even
    when the store already holds the object (uploaded to another repository) the bytes are
    received and verified again: that is what proves the uploader has them.

    `admit()` is the caller's last word, once the bytes are verified and before they become
    visible (e.g. the uploader's access checked again at the end of a long upload); it raises
    to refuse, and nothing is kept.
    """
    ref = ObjectRef(repo=repo, oid=oid, size=size)
    filters = ingest_filters()
    # Private (or opted-in) repositories: the bytes are encrypted on their way to the
    # temporary file, so no plaintext byte of them is ever written to disk. The key is loaded
    # before the body is read: a missing master key refuses the upload at once.
    data_key = active_data_key(repo) if repo_encrypted(repo) else None
    backend = encrypted_store(repo) if data_key is not None else storage_backend()

    def transform(chunks: Iterator[bytes]) -> Iterable[bytes]:
        stream: Iterable[bytes] = chunks
        for f in filters:
            stream = f.transform(ref, iter(stream))
        if data_key is not None:
            stream = EncryptedChunks(stream, data_key=data_key, oid=oid, size=size, hash_plaintext=False)
        return stream

    def content(open_stored: Callable[[], BinaryIO]) -> BinaryIO:
        stored = open_stored()
        if data_key is not None:
            stored = EncryptedReader(stored, data_key=data_key, oid=oid)  # type: ignore[assignment]
        return _content_reader(ref, stored)

    def before_publish(open_stored: Callable[[], BinaryIO]) -> None:
        for f in filters:
            f.check(ref, lambda: content(open_stored))
        if admit is not None:
            admit()

    # A full disk (the temporary file, or the database row) is InsufficientStorage; the
    # backend has removed its temporary file, and an object stored but not linked is not
    # readable through `repo` (a retry links it).
    with out_of_space_as_507():
        backend.write_stream(oid, size, source, transform=transform if filters or data_key is not None else None,
                             before_publish=before_publish if filters or admit is not None else None)
        link(repo=repo, oid=oid, size=size)


def ingest_file(*, repo: Repository, file: BinaryIO, size: int) -> str:
    """Ingest an uploaded file already on the hub's disk (browser uploads); returns its oid.

    The file is hashed first; when the store already holds that content and no filter needs to
    see it again, the object is only linked (we hashed these very bytes ourselves).
    """
    digest = hashlib.sha256()
    file.seek(0)
    while chunk := file.read(_HASH_CHUNK):
        digest.update(chunk)
    oid = digest.hexdigest()
    if not ingest_filters() and _store_for_new(repo).size(oid) is not None and _stored_size(repo, oid) == size:
        with out_of_space_as_507():
            link(repo=repo, oid=oid, size=size)
        return oid
    file.seek(0)
    ingest(repo=repo, oid=oid, size=size, source=file)
    return oid


def readable_objects(*, repo: Repository, oids: Iterable[str]) -> dict[str, int]:
    """{oid: size} of the objects among `oids` that `repo` may read (`repos.gate.object_readable`:
    linked to it, and stored whole)."""
    return {oid: size for oid, size in linked_objects(repo=repo, oids=oids).items()
            if _stored_size(repo, oid) == size}


@dataclass(frozen=True)
class StoredObject:
    """An object `repo` may read, found by `find`: its size, and a way to open its content."""

    ref: ObjectRef
    # The Xet file hash of the same content, when one was verified (`repos.services.xet`).
    xet_hash: str | None = None

    @property
    def size(self) -> int:
        return self.ref.size

    def open(self) -> BinaryIO:
        """A seekable reader of the content (sendfile-able when it is stored plain and no read
        filter applies; decrypted chunk by chunk when it is stored encrypted)."""
        return _content_reader(self.ref, _open_content(self.ref.repo, self.ref.oid))


def find(*, repo: Repository, oid: str) -> StoredObject | None:
    """Object `oid` as `repo` may read it, or None when it may not (never linked to `repo`, or
    not stored whole) - exactly as if it did not exist. The rule is
    `repos.gate.object_readable`'s, read here in the same query as the Xet hash."""
    size = _stored_size(repo, oid)
    link = linked_object(repo_pk=repo.pk, oid=oid) if size is not None else None
    if link is None or link[0] != size:
        return None
    assert size is not None
    return StoredObject(ObjectRef(repo=repo, oid=oid, size=size), xet_hash=link[1])


def open_object(*, repo: Repository, oid: str) -> BinaryIO:
    """`find(...).open()`, or ObjectNotFound."""
    found = find(repo=repo, oid=oid)
    if found is None:
        raise ObjectNotFound(f"LFS object {oid} not found")
    return found.open()


def _content_reader(ref: ObjectRef, stored: BinaryIO) -> BinaryIO:
    for f in reversed(read_filters()):
        stored = f.wrap(ref, stored)
    return stored


def encrypted_objects_remover(repo: Repository) -> Callable[[], None]:
    """A callable that removes `repo`'s encrypted objects (its enclave), for a deleted
    repository: taken before the row goes, run once the deletion committed. Its data keys go
    with the row, so the files are unreadable from then on anyway; this frees their space."""
    enclave = encrypted_store(repo).root
    return lambda: shutil.rmtree(enclave, ignore_errors=True)


def purge_stale_temporaries(*, older_than_s: float) -> int:
    """Remove temporary files of uploads that died with their process; returns how many."""
    return storage_backend().purge_stale_temp(older_than_s)
