"""Exceptions raised by the git layer.

The layer never raises pygit2 or subprocess errors for conditions a caller is expected to
handle: those are translated into one of these, once, close to where they happen. The HTTP
edge (`repos.revisions.git_errors_as_http`) maps each class to an HF error code, so the
classes are deliberately flat (no class inherits from another besides `GitError`): an
`except` clause for one never silently swallows another.
"""
from __future__ import annotations


class GitError(Exception):
    """Base class of every error the git layer raises on purpose."""

    default_message = "Git operation failed"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)

    @property
    def message(self) -> str:
        return str(self.args[0])


class RevisionNotFound(GitError):
    """A branch, tag, ref or commit sha that does not exist (or is not acceptable syntax)."""

    default_message = "Revision not found"


class EntryNotFound(GitError):
    """A path that is missing at a revision, or a delete of something that does not exist."""

    default_message = "Entry not found"


class RefConflict(GitError):
    """A compare-and-swap ref update failed: the ref moved since the caller read it."""

    default_message = "The reference was updated concurrently; re-read it and retry"


class RefExists(GitError):
    """Creating a ref that already exists (or that would collide with an existing one)."""

    default_message = "Reference already exists"


class RefNotFound(GitError):
    """A named ref that is required to exist does not."""

    default_message = "Reference not found"


class RepoLocked(GitError):
    """The per-repository lock (or a git ref lockfile) could not be taken in time."""

    default_message = "The repository is busy; retry later"


class InvalidPath(GitError):
    """A file or folder path inside a repository, or a storage key, that is not acceptable."""

    default_message = "Invalid path"


class InvalidRepoName(InvalidPath):
    """A repository name or namespace that breaks the naming rules.

    A subclass of `InvalidPath` because names become URL path segments; callers that only
    care about "bad user input" can catch either.
    """

    default_message = "Invalid repository name"


class InvalidRefName(GitError):
    """A ref, branch or tag name that git's check-ref-format (or our stricter rules) refuses."""

    default_message = "Invalid reference name"


class TreeTooLarge(GitError):
    """A tree exceeds the walk limits (paths, depth, entries of one folder, or time).

    Raised by bounded walks instead of hogging memory and time on hostile trees (a few
    thousand bytes of git objects can describe billions of paths: trees that point at the
    same subtree many times over)."""


class MergeConflict(GitError):
    """Two commits cannot be merged without a human: `paths` are the conflicting files."""

    default_message = "Merge conflict"

    def __init__(self, paths: list[str], message: str | None = None) -> None:
        self.paths = paths
        shown = ", ".join(paths[:20]) + (f" and {len(paths) - 20} more" if len(paths) > 20 else "")
        super().__init__(message or f"Merge conflict in {shown}")
