"""Revision parsing shared by every surface, and the git-error → HTTP-error mapping.

Revisions may contain "/" (`refs/pr/1`, branch `feature/x`). Servers decode `%2F` before
routing, so `tree/refs%2Fpr%2F1/a%2Fb` arrives as `tree/refs/pr/1/a/b`; `split_revision_path`
resolves such a remainder greedily against the refs that actually exist.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from hub import exceptions as hub_exc
from repos.git import errors as git_errors
from repos.git.repository import GitRepo

_SPECIAL_REF = re.compile(r"^(refs/pr/\d+|refs/convert/[\w-]+)(?:/|$)")
_HEX40 = re.compile(r"^[0-9a-fA-F]{40}(?:/|$)")


def split_revision_path(git: GitRepo, remainder: str) -> tuple[str, str]:
    """Split `rev/path/in/repo` into (rev, path) choosing the longest existing ref name."""
    remainder = remainder.strip("/")
    if m := _SPECIAL_REF.match(remainder):
        rev = m.group(1)
        return rev, remainder[len(rev):].lstrip("/")
    if _HEX40.match(remainder):
        return remainder[:40], remainder[40:].lstrip("/")
    parts = remainder.split("/")
    if len(parts) > 1:
        names = set(git.branches()) | set(git.tags())
        for i in range(len(parts), 0, -1):
            candidate = "/".join(parts[:i])
            if candidate in names:
                return candidate, "/".join(parts[i:])
    return parts[0], "/".join(parts[1:])


@contextmanager
def git_errors_as_http() -> Iterator[None]:
    """Translate the git layer's exceptions into HubErrors with HF error codes; a write that
    finds the disk full (libgit2 reports it as OSError or GitError text) is InsufficientStorage."""
    try:
        with hub_exc.out_of_space_as_507():
            yield
    except git_errors.RevisionNotFound as exc:
        raise hub_exc.RevisionNotFound(str(exc) or None) from exc
    except git_errors.EntryNotFound as exc:
        raise hub_exc.EntryNotFound(str(exc) or None) from exc
    except git_errors.RefConflict as exc:
        raise hub_exc.PreconditionFailed() from exc
    except git_errors.RefExists as exc:
        raise hub_exc.Conflict(str(exc) or "Reference already exists") from exc
    except git_errors.RefNotFound as exc:
        raise hub_exc.RevisionNotFound(str(exc) or None) from exc
    except git_errors.RepoLocked as exc:
        raise hub_exc.RepoBusy() from exc
    except git_errors.InvalidPath as exc:
        raise hub_exc.Unprocessable(str(exc) or "Invalid path") from exc
    except git_errors.InvalidRefName as exc:
        raise hub_exc.BadRequest(str(exc) or "Invalid reference name") from exc
    except git_errors.TreeTooLarge as exc:
        raise hub_exc.TreeTooLarge(f"This repository's file tree is too large to process: {exc}") from exc
    except git_errors.MergeConflict as exc:
        raise hub_exc.Conflict(f"{exc}. Resolve the conflicts on the pull request first "
                               "(merge the target branch into it), then merge again.") from exc


@dataclass(frozen=True)
class RevisionPath:
    """A `rev[/path]` URL remainder resolved: the revision as named, the path in the repository
    (no leading or trailing slash) and the commit the revision points to."""

    rev: str
    path: str
    sha: str


def resolve_revision_path(git: GitRepo, remainder: str) -> RevisionPath:
    """THE "resolve revision and path" step of every page and API route that takes a
    `rev[/path]` remainder; git errors become HubErrors (RevisionNotFound, ...)."""
    with git_errors_as_http():
        rev, path = split_revision_path(git, remainder)
        return RevisionPath(rev=rev, path=path.strip("/"), sha=git.resolve(rev))
