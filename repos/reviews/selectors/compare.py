"""What changed between two revisions: `a...b` (from their merge base, like a pull request)
or `a..b` (from `a` itself), as files with highlighted text diffs, key-level config and card
changes, and the weight checkpoints touched (their tensor diffs are `services.tensor_diffs`)."""
from __future__ import annotations

from dataclasses import dataclass, field

from hub.exceptions import BadRequest, RevisionNotFound
from repos.git import errors as git_errors
from repos.git.merge import merge_base
from repos.handles import git_repo_for_read
from repos.models import Repository
from repos.reviews.selectors.checkpoints import CheckpointPair, changed_checkpoints
from repos.reviews.selectors.structured import StructuredChange, structured_changes
from repos.revisions import git_errors_as_http
from repos.selectors.history import FileChange, changes_between


@dataclass(frozen=True)
class CompareRange:
    old_rev: str
    new_rev: str
    old: str | None  # the commit diffs start from (the merge base for `...`)
    new: str


@dataclass
class Changes:
    files: list[FileChange] = field(default_factory=list)
    hidden: int = 0
    too_large: bool = False
    structured: list[StructuredChange] = field(default_factory=list)
    checkpoints: list[CheckpointPair] = field(default_factory=list)

    @property
    def additions(self) -> int:
        return sum(f.additions for f in self.files if not f.is_lfs)

    @property
    def deletions(self) -> int:
        return sum(f.deletions for f in self.files if not f.is_lfs)


def parse_spec(spec: str) -> tuple[str, str, bool]:
    """(old revision, new revision, from the merge base?) of `a...b` or `a..b`. Ref names
    cannot contain `..` (git check-ref-format), so the split is unambiguous."""
    if "..." in spec:
        old, _, new = spec.partition("...")
        three = True
    elif ".." in spec:
        old, _, new = spec.partition("..")
        three = False
    else:
        raise BadRequest("Compare two revisions as `base...head` (from their merge base) or `base..head`")
    if not old or not new:
        raise BadRequest("Compare two revisions as `base...head` or `base..head`")
    return old, new, three


def compare_range(*, repo: Repository, spec: str) -> CompareRange:
    old_rev, new_rev, three = parse_spec(spec)
    git = git_repo_for_read(repo)
    with git_errors_as_http():
        old_sha = git.resolve(old_rev)
        new_sha = git.resolve(new_rev)
        start = merge_base(git, old_sha, new_sha) if three else old_sha
    if three and start is None:
        raise RevisionNotFound(f"{old_rev} and {new_rev} have no common history")
    return CompareRange(old_rev=old_rev, new_rev=new_rev, old=start, new=new_sha)


def changes(*, repo: Repository, old: str | None, new: str) -> Changes:
    """The changes from commit `old` to commit `new`, ready to render (bounded like commit pages)."""
    git = git_repo_for_read(repo)
    with git_errors_as_http():
        try:
            files, hidden = changes_between(git=git, old_sha=old, new_sha=new)
        except git_errors.TreeTooLarge:
            return Changes(too_large=True)
        changed = [(f.path, f.old_path, f.status) for f in files]
        return Changes(files=files, hidden=hidden,
                       structured=structured_changes(git=git, old_sha=old, new_sha=new, changed=changed),
                       checkpoints=changed_checkpoints(git=git, old_sha=old, new_sha=new,
                                                       changed=[(p, o) for p, o, _ in changed]))
