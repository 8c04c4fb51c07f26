"""Diffs between commits: per-file records and the full `git diff` text."""
from __future__ import annotations

import pytest

from repos.git.commit import DeleteFile, PutFile, build_commit, commit_to_ref
from repos.git.diff import FileDiff, diff_commits, unified_diff
from repos.git.errors import RevisionNotFound
from repos.git.repository import GitRepo
from tests.repos.git.conftest import AUTHOR, GitRunner

LONG_TEXT = b"".join(b"line %d of a file long enough to be recognised when moved\n" % i
                     for i in range(30))


@pytest.fixture
def change(repo: GitRepo) -> tuple[GitRepo, str, str]:
    old = commit_to_ref(
        repo, ref="main", create=True, author=AUTHOR, message="old",
        ops=[PutFile("keep.txt", b"a\nb\nc\n"), PutFile("gone.txt", b"bye\n"),
             PutFile("moved/from.txt", LONG_TEXT), PutFile("weights.bin", b"\x00\x01\x02")],
    )
    new = commit_to_ref(
        repo, ref="main", author=AUTHOR, message="new",
        ops=[PutFile("keep.txt", b"a\nB\nc\nd\n"), DeleteFile("gone.txt"),
             DeleteFile("moved/from.txt"), PutFile("moved/to.txt", LONG_TEXT),
             PutFile("added.txt", b"new\n"), PutFile("weights.bin", b"\x00\x09\x02\x03")],
    )
    return repo, old, new


def test_diff_commits_records(change: tuple[GitRepo, str, str]) -> None:
    repo, old, new = change
    diffs = {d.path: d for d in diff_commits(repo, old, new)}
    assert set(diffs) == {"added.txt", "gone.txt", "keep.txt", "moved/to.txt", "weights.bin"}

    keep = diffs["keep.txt"]
    assert (keep.status, keep.old_path, keep.additions, keep.deletions) == (
        "modified", "keep.txt", 2, 1)
    assert not keep.is_binary
    assert "-b\n+B\n" in keep.patch and "+d\n" in keep.patch
    assert keep.patch.startswith("diff --git a/keep.txt b/keep.txt\n")

    assert diffs["added.txt"] == FileDiff(
        path="added.txt", old_path=None, status="added", additions=1, deletions=0,
        is_binary=False, patch=diffs["added.txt"].patch)
    assert "+new\n" in diffs["added.txt"].patch
    gone = diffs["gone.txt"]
    assert (gone.status, gone.old_path, gone.additions, gone.deletions) == (
        "deleted", "gone.txt", 0, 1)

    moved = diffs["moved/to.txt"]
    assert (moved.status, moved.old_path, moved.additions, moved.deletions) == (
        "renamed", "moved/from.txt", 0, 0)
    assert "rename from moved/from.txt" in moved.patch

    weights = diffs["weights.bin"]
    assert weights.is_binary and weights.status == "modified"
    assert "Binary files" in weights.patch


def test_diff_against_nothing_lists_every_file_as_added(
    change: tuple[GitRepo, str, str]
) -> None:
    repo, old, _ = change
    diffs = diff_commits(repo, None, old)
    assert [d.path for d in diffs] == ["gone.txt", "keep.txt", "moved/from.txt", "weights.bin"]
    assert all(d.status == "added" and d.old_path is None for d in diffs)
    assert diffs[1].additions == 3


def test_max_patch_bytes_drops_big_patches_but_keeps_counts(
    change: tuple[GitRepo, str, str]
) -> None:
    repo, old, _ = change
    diffs = {d.path: d for d in diff_commits(repo, None, old, max_patch_bytes=200)}
    assert diffs["moved/from.txt"].patch == ""
    assert diffs["moved/from.txt"].additions == 30
    assert diffs["keep.txt"].patch != ""


def test_unified_diff_matches_git(change: tuple[GitRepo, str, str], git: GitRunner) -> None:
    repo, old, new = change
    text = unified_diff(repo, old, new)
    assert text == git("diff", "-M", old, new)
    assert unified_diff(repo, new, new) == ""
    assert unified_diff(repo, None, old).count("new file mode") == 4


def test_diff_requires_commits(change: tuple[GitRepo, str, str]) -> None:
    repo, old, _ = change
    with pytest.raises(RevisionNotFound):
        diff_commits(repo, "main", old)
    with pytest.raises(RevisionNotFound):
        unified_diff(repo, old, "0" * 40)


def test_identical_trees_have_no_diff(change: tuple[GitRepo, str, str]) -> None:
    repo, _, new = change
    same = build_commit(repo, parent=new, ops=[], author=AUTHOR, message="empty")
    assert diff_commits(repo, new, same) == []
