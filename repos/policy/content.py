"""Rules on what the files a write adds contain, contributed by the apps that judge content.

The push policy (`check_push`, git pushes) and the commit service (`commit_create`: the commit
API, browser uploads and edits) give every rule the files they add, once the size and LFS
rules passed, each with a way to open its content: plain blobs from the push's quarantine or
the commit's own bytes, LFS objects through the byte door. Rules are classes named by dotted
path in `settings.HUB_CONTENT_RULES` (instantiated once): `repos` imports none of them
(`safety.rules.BlockUnsafeFiles` is the one the hub ships). A rule returns (path, reason) for
each file it refuses; a rule that does not apply to a repository returns [] without opening
anything.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from repos.models import Repository


@dataclass(frozen=True)
class NewFile:
    """A file a write adds: `oid` is its content id (the LFS sha256, or the git blob id)."""

    path: str
    oid: str
    size: int
    is_lfs: bool
    open: Callable[[], BinaryIO]


class ContentRule(Protocol):
    def rejections(self, repo: Repository, files: Sequence[NewFile]) -> list[tuple[str, str]]:
        """(path, reason) for each file of `files` refused in `repo`."""


@lru_cache(maxsize=4)
def _rules(paths: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(import_string(path)() for path in paths)


def content_rules() -> tuple[ContentRule, ...]:
    return _rules(tuple(getattr(settings, "HUB_CONTENT_RULES", ())))


def content_rejections(*, repo: Repository, files: Sequence[NewFile]) -> list[tuple[str, str]]:
    """Every rule's refusals of `files` in `repo`, in rule order."""
    if not files:
        return []
    out: list[tuple[str, str]] = []
    for rule in content_rules():
        out.extend(rule.rejections(repo, files))
    return out
