"""Reads of the Xet index (`repos.models.xet`): which files a repository may serve through the
CAS. The rules are `repos.services.xet`'s (provenance: registered *for* the repository)."""
from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings

from repos.models import Repository, XetFile
from repos.xet.hashes import MerkleHash
from repos.xet.shard import FileSegment

_BATCH = 500



def file_segments(*, repo: Repository, file_hash: str) -> tuple[FileSegment, ...] | None:
    """The reconstruction terms of a file registered for `repo`, or None (unknown, or only
    registered elsewhere: the same answer)."""
    row = XetFile.objects.filter(pk=file_hash, repositories__repository=repo).values_list("segments", flat=True).first()
    if row is None:
        return None
    return tuple(FileSegment(MerkleHash.from_hex(h), n, s, e) for h, s, e, n in row)


def xet_hashes_for(*, repo: Repository, oids: Iterable[str]) -> dict[str, str]:
    """{sha256: Xet file hash} of the objects among `oids` registered as Xet files for `repo`:
    the files Xet clients may download through it (`X-Xet-Hash`, `xetHash`)."""
    wanted = sorted(set(oids))
    if not wanted or not settings.HUB_XET_ENABLED:
        return {}
    found: dict[str, str] = {}
    for start in range(0, len(wanted), _BATCH):
        rows = XetFile.objects.filter(sha256__in=wanted[start:start + _BATCH], repositories__repository=repo)
        found.update(rows.values_list("sha256", "file_hash"))
    return found
