"""Branches, tags and pull-request refs of a repository (HF `list_repo_refs`)."""
from __future__ import annotations

from dataclasses import dataclass

from repos.git.repository import GitRepo


@dataclass(frozen=True)
class RefListing:
    """Short name -> commit sha (annotated tags peeled); `pull_requests` keyed by full ref."""

    branches: dict[str, str]
    tags: dict[str, str]
    pull_requests: dict[str, str] | None


def refs_list(*, git: GitRepo, include_prs: bool = False) -> RefListing:
    return RefListing(
        branches=git.branches(),
        tags=git.tags(),
        pull_requests=_pr_refs(git) if include_prs else None,
    )


def _pr_refs(git: GitRepo) -> dict[str, str]:
    refs = git.refs("refs/pr/")

    def number(name: str) -> tuple[int, str]:
        tail = name[len("refs/pr/"):]
        return (int(tail), name) if tail.isdigit() else (1 << 62, name)

    return {name: refs[name] for name in sorted(refs, key=number)}
