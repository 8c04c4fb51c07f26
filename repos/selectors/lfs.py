"""Reads of the LFS object index: which objects a repository may reference and serve."""
from __future__ import annotations

from collections.abc import Iterable

from repos.models import RepoLfsObject, Repository
from repos.storage import lfs_store

_BATCH = 500


def lfs_objects_available(*, repo: Repository, oids: Iterable[str]) -> dict[str, int]:
    """{oid: size} of the objects among `oids` that were uploaded to `repo` and that the store
    holds whole. Objects of other repositories are absent even if the store has them: a known
    sha256 is not a proof of possession."""
    wanted = sorted(set(oids))
    linked: dict[str, int] = {}
    for start in range(0, len(wanted), _BATCH):
        rows = (RepoLfsObject.objects.filter(repository=repo, lfs_object_id__in=wanted[start:start + _BATCH])
                .values_list("lfs_object_id", "lfs_object__size"))
        linked.update(dict(rows))
    store = lfs_store()
    return {oid: size for oid, size in linked.items() if store.size(oid) == size}


def repo_by_storage_key(*, key: str) -> Repository | None:
    """The repository a signed LFS URL names (by storage key, stable across renames). No
    permission check: callers hold a signature that is the permission."""
    if len(key) != 32 or any(c not in "0123456789abcdef" for c in key):
        return None
    return Repository.objects.filter(storage_key=key).first()
