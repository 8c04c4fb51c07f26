"""Writes of LFS objects: bytes into the content-addressed store, then the index rows."""
from __future__ import annotations

from django.db import IntegrityError, transaction

from repos.lfs.store import Source
from repos.models import LfsObject, RepoLfsObject, Repository
from repos.storage import lfs_store


def lfs_object_link(*, repo: Repository, oid: str, size: int) -> None:
    """Record that `repo` holds the (already stored and verified) object `oid`. Idempotent,
    and safe against a concurrent upload of the same object."""
    with transaction.atomic():
        obj, _ = LfsObject.objects.get_or_create(oid=oid, defaults={"size": size})
        try:
            with transaction.atomic():
                RepoLfsObject.objects.get_or_create(repository=repo, lfs_object=obj)
        except IntegrityError:
            pass  # the same upload finished in another request first


def lfs_object_upload(*, repo: Repository, oid: str, size: int, source: Source) -> None:
    """Stream an upload into the store and link it to `repo`.

    The bytes are hashed and counted while they are written to a temporary file and become
    visible only if they are exactly `size` bytes hashing to `oid`; otherwise
    `repos.lfs.errors.LfsVerifyError` is raised and nothing is kept. Even when the store
    already holds the object (uploaded to another repository), the bytes are received and
    verified again: that is what proves the uploader has them.
    """
    lfs_store().write_stream(oid, size, source)
    lfs_object_link(repo=repo, oid=oid, size=size)
