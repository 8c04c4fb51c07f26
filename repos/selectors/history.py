"""Reads behind the history pages: paginated commit lists and renderable commit diffs."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from repos.git.diff import FileDiff, diff_commits
from repos.git.repository import CommitInfo, GitRepo
from repos.highlight import highlight_lines
from repos.links import RepoLinks
from repos.selectors.files import lfs_pointer_of

COMMITS_PER_PAGE = 30
MAX_PATCH_BYTES = 256 * 1024  # per file; larger patches are summarized, not shown
MAX_DIFF_FILES = 300
MAX_DIFF_LINES = 20_000  # over the whole page

_HUNK_RE = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@(.*)$")
_POINTER_LINE_RE = re.compile(r"^(version https://git-lfs\.github\.com/spec/v1|oid sha256:[0-9a-f]{64}|size (\d+))$")


@dataclass
class CommitRow:
    info: CommitInfo
    url: str
    tree_url: str
    short: str


def commit_page(*, git: GitRepo, links: RepoLinks, sha: str, path: str, page: int
                ) -> tuple[list[CommitRow], bool]:
    """Commits reachable from `sha` (touching `path` if given), newest first; (rows, has_next)."""
    commits = git.log(sha, path=path or None, limit=COMMITS_PER_PAGE + 1, offset=page * COMMITS_PER_PAGE)
    rows = [CommitRow(info=c, url=links.commit(c.sha), tree_url=links.tree(c.sha), short=c.sha[:7])
            for c in commits[:COMMITS_PER_PAGE]]
    return rows, len(commits) > COMMITS_PER_PAGE


@dataclass
class DiffLine:
    kind: str  # "hunk" | "add" | "del" | "ctx" | "note"
    text: str
    old: int | None = None
    new: int | None = None
    html: str = ""  # `text` highlighted for its file's language (escaped HTML), when it could be


@dataclass
class FileChange:
    path: str
    old_path: str | None
    status: str
    additions: int
    deletions: int
    is_binary: bool
    is_lfs: bool = False
    lfs_sizes: tuple[int | None, int | None] = (None, None)
    too_large: bool = False
    lines: list[DiffLine] = field(default_factory=list)
    anchor: str = ""


def _lfs_sizes(lines: list[str]) -> tuple[bool, tuple[int | None, int | None]]:
    """Whether a patch only swaps LFS pointer lines, and the (old, new) object sizes."""
    old = new = None
    seen = False
    for line in lines:
        if not line or line[0] not in "+-" or line.startswith(("+++", "---")):
            continue
        m = _POINTER_LINE_RE.match(line[1:])
        if m is None:
            return False, (None, None)
        seen = True
        if m.group(2) is not None:
            if line[0] == "+":
                new = int(m.group(2))
            else:
                old = int(m.group(2))
    return seen, (old, new)


def _parse_patch(patch: str, budget: int) -> list[DiffLine]:
    out: list[DiffLine] = []
    old = new = 0
    in_hunk = False
    for raw in patch.splitlines():
        if len(out) >= budget:
            out.append(DiffLine(kind="note", text="Diff truncated: too many lines to show."))
            break
        m = _HUNK_RE.match(raw)
        if m:
            in_hunk = True
            old, new = int(m.group(1)), int(m.group(2))
            out.append(DiffLine(kind="hunk", text=raw))
            continue
        if not in_hunk:
            continue  # the "diff --git", "index" and ---/+++ header lines
        if raw.startswith("+"):
            out.append(DiffLine(kind="add", text=raw[1:], new=new))
            new += 1
        elif raw.startswith("-"):
            out.append(DiffLine(kind="del", text=raw[1:], old=old))
            old += 1
        elif raw.startswith("\\"):
            out.append(DiffLine(kind="note", text=raw[1:].strip()))
        else:
            out.append(DiffLine(kind="ctx", text=raw[1:], old=old, new=new))
            old += 1
            new += 1
    return out


def _pointer_size(git: GitRepo, sha: str | None, path: str | None) -> int | None:
    if sha is None or path is None:
        return None
    entry = git.get_entry(sha, path)
    pointer = lfs_pointer_of(git, entry) if entry is not None else None
    return pointer.size if pointer is not None else None


def _change(git: GitRepo, old_sha: str | None, new_sha: str, diff: FileDiff, budget: int, index: int) -> FileChange:
    change = FileChange(path=diff.path, old_path=diff.old_path, status=diff.status, additions=diff.additions,
                        deletions=diff.deletions, is_binary=diff.is_binary, anchor=f"file-{index}")
    if diff.is_binary:
        # The default .gitattributes marks LFS patterns `-text`, so git calls their pointer
        # blobs binary: look at the blobs themselves to tell an LFS file from a binary one.
        old = _pointer_size(git, old_sha, diff.old_path) if diff.status != "added" else None
        new = _pointer_size(git, new_sha, diff.path) if diff.status != "deleted" else None
        if old is not None or new is not None:
            change.is_binary, change.is_lfs, change.lfs_sizes = False, True, (old, new)
        return change
    if not diff.patch and (diff.additions or diff.deletions):
        change.too_large = True
        return change
    raw_lines = diff.patch.splitlines()
    is_lfs, sizes = _lfs_sizes(raw_lines)
    if is_lfs:
        if sizes == (None, None):  # same size on both sides: the size line is context, not a change
            sizes = (_pointer_size(git, old_sha, diff.old_path), _pointer_size(git, new_sha, diff.path))
        change.is_lfs, change.lfs_sizes = True, sizes
        return change
    change.lines = _parse_patch(diff.patch, budget)
    _highlight(change)
    return change


def _highlight(change: FileChange) -> None:
    """Fill `html` of the code lines of a parsed diff, lexed in one pass for the file's type."""
    code = [line for line in change.lines if line.kind in ("add", "del", "ctx")]
    if not code:
        return
    highlighted = highlight_lines([line.text for line in code], change.path)
    if highlighted is None:
        return
    for line, html in zip(code, highlighted, strict=True):
        line.html = html


def commit_changes(*, git: GitRepo, info: CommitInfo) -> tuple[list[FileChange], int]:
    """The files changed by a commit (against its first parent), ready to render, and how
    many changed files were left out beyond MAX_DIFF_FILES."""
    return changes_between(git=git, old_sha=info.parents[0] if info.parents else None, new_sha=info.sha)


def changes_between(*, git: GitRepo, old_sha: str | None, new_sha: str) -> tuple[list[FileChange], int]:
    """The files that differ from commit `old_sha` (None: nothing) to commit `new_sha`, ready to
    render, and how many were left out beyond MAX_DIFF_FILES (compares and pull requests)."""
    diffs = diff_commits(git, old_sha, new_sha, max_patch_bytes=MAX_PATCH_BYTES)
    changes: list[FileChange] = []
    budget = MAX_DIFF_LINES
    for i, diff in enumerate(diffs[:MAX_DIFF_FILES]):
        change = _change(git, old_sha, new_sha, diff, max(budget, 0), i)
        budget -= len(change.lines)
        changes.append(change)
    return changes, max(len(diffs) - MAX_DIFF_FILES, 0)
