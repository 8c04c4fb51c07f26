"""Reads of the Xet index (`repos.models.xet`): which files a repository may serve through the
CAS. A file is readable through a repository that registered it, or that may read its sha256
LFS object (`repos.gate.object_readable`): the Xet file was verified to be those very bytes, so
an object uploaded the old way is downloadable by Xet clients once the same content was
registered anywhere."""
from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings

from repos.models import RepoLfsObject, Repository, RepoXetFile, XetFile
from repos.objects import readable_objects
from repos.xet.hashes import MerkleHash
from repos.xet.shard import FileSegment

_BATCH = 500



def file_segments(*, repo: Repository, file_hash: str) -> tuple[FileSegment, ...] | None:
    """The reconstruction terms of a file registered for `repo`, or None (unknown, or only
    registered elsewhere: the same answer)."""
    row = XetFile.objects.filter(pk=file_hash).values_list("segments", "sha256", "size").first()
    if row is None:
        return None
    segments, sha256, size = row
    if not RepoXetFile.objects.filter(repository=repo, file_id=file_hash).exists() \
            and readable_objects(repo=repo, oids=[sha256]).get(sha256) != size:
        return None
    return tuple(FileSegment(MerkleHash.from_hex(h), n, s, e) for h, s, e, n in segments)


def xet_hashes_for(*, repo: Repository, oids: Iterable[str]) -> dict[str, str]:
    """{sha256: Xet file hash} of the objects among `oids` that `repo` may read and that have a
    verified Xet file: what Xet clients may download through it (`xetHash`)."""
    wanted = sorted(set(oids))
    if not wanted or not settings.HUB_XET_ENABLED:
        return {}
    found: dict[str, str] = {}
    for start in range(0, len(wanted), _BATCH):
        batch = wanted[start:start + _BATCH]
        linked = RepoLfsObject.objects.filter(repository=repo, lfs_object_id__in=batch).values("lfs_object_id")
        found.update(XetFile.objects.filter(sha256__in=linked).values_list("sha256", "file_hash"))
    return found
