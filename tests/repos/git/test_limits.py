"""Walk limits of the pure git layer: a tree measured by its unique objects, every walk over
paths bounded (paths, depth, folder size, time), pages that seek instead of re-walking."""
from __future__ import annotations

import itertools
import resource
import time
from pathlib import Path

import pytest

from repos.git.commit import PutFile, Signature, commit_to_ref, create_root_commit
from repos.git.diff import MAX_CHANGED_PATHS, count_changed_paths, diff_commits
from repos.git.errors import TreeTooLarge
from repos.git.limits import WalkLimits, tree_stats
from repos.git.repository import GitRepo
from tests.repos.git.bombs import commit_tree, deep_tree, tree_bomb

AUTHOR = Signature("Alice", "alice@example.com")


@pytest.fixture
def git(tmp_path: Path) -> GitRepo:
    repo = GitRepo.init_bare(tmp_path / "r.git")
    create_root_commit(repo, ref="refs/heads/main", files={"README.md": b"hi\n"}, author=AUTHOR, message="init")
    return repo


def test_tree_stats_count_paths_not_objects(git: GitRepo) -> None:
    bomb = tree_bomb(git.raw, levels=10, fanout=10)
    started = time.process_time()
    stats = tree_stats(git.raw, bomb, limits=WalkLimits(max_paths=10**12))
    assert time.process_time() - started < 1.0  # eleven objects, not 10^10 paths
    # 10^10 files plus every folder: sum of 10^k for k = 1..9 folders.
    assert stats.paths == 10**10 + sum(10**k for k in range(1, 10))
    assert stats.depth == 9 and stats.widest == 10
    small = WalkLimits()
    capped = tree_stats(git.raw, bomb, limits=small)
    assert capped.paths == small.max_paths + 1  # saturates instead of growing without bound
    assert "paths" in capped.problem(small)


def test_tree_stats_depth_and_width(git: GitRepo) -> None:
    deep = tree_stats(git.raw, deep_tree(git.raw, depth=100))
    assert deep.depth == 100 and deep.paths == 101
    assert "nest" in deep.problem(WalkLimits(max_depth=64))
    assert deep.problem(WalkLimits(max_depth=100)) is None
    wide = tree_bomb(git.raw, levels=1, fanout=50)
    assert tree_stats(git.raw, wide).widest == 50
    assert "entries" in tree_stats(git.raw, wide).problem(WalkLimits(max_entries=49))


def test_walks_stop_at_the_limits(git: GitRepo) -> None:
    sha = commit_tree(git.raw, tree_bomb(git.raw, levels=10, fanout=10))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(TreeTooLarge, match="paths"):
        for _ in git.iter_files(sha, limits=WalkLimits(max_paths=5_000)):
            pass
    with pytest.raises(TreeTooLarge):
        git.list_tree(sha, recursive=True, limits=WalkLimits(max_paths=5_000))
    with pytest.raises(TreeTooLarge, match="too long"):
        for _ in git.iter_files(sha, limits=WalkLimits(max_paths=10**12, seconds=0.05)):
            pass
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB: nothing piled up
    deep = commit_tree(git.raw, deep_tree(git.raw, depth=80))
    with pytest.raises(TreeTooLarge, match="levels"):
        list(git.walk(deep, limits=WalkLimits(max_depth=64)))
    wide = commit_tree(git.raw, tree_bomb(git.raw, levels=1, fanout=30))
    with pytest.raises(TreeTooLarge, match="entries"):
        git.list_tree(wide, limits=WalkLimits(max_entries=20))


def test_walk_pages_seek_to_the_cursor(git: GitRepo) -> None:
    files = {f"{a}/{b}/f{c}.txt": b"x" for a in "abc" for b in ("x", "y") for c in range(3)}
    files.update({"a.txt": b"1", "b-c.txt": b"2", "z.txt": b"3"})
    sha = commit_to_ref(git, ref="refs/heads/main", ops=[PutFile(p, d) for p, d in files.items()], author=AUTHOR,
                        message="tree")
    everything = [e.path for e in git.walk(sha)]
    assert everything == [e.path for e in git.list_tree(sha, recursive=True)]
    for size in (1, 2, 5, 7):
        pages: list[str] = []
        after = None
        while True:
            page = [e.path for e in itertools.islice(git.walk(sha, after=after), size)]
            pages += page
            if len(page) < size:
                break
            after = page[-1]
        assert pages == everything, size
    # Seeking walks only the folders along the cursor: with a tiny path budget, the last
    # page is still reachable.
    last = everything[-2]
    assert [e.path for e in git.walk(sha, after=last, limits=WalkLimits(max_paths=3))] == everything[-1:]
    # A cursor that no longer exists resumes where it would sort.
    resumed = [e.path for e in git.walk(sha, after="b/x/f1.txt0")]
    assert resumed == everything[everything.index("b/x/f2.txt"):]


def test_diffs_are_bounded_by_changed_paths(git: GitRepo) -> None:
    main = git.resolve("main")
    small = commit_to_ref(git, ref="refs/heads/main", ops=[PutFile("a.txt", b"changed")], author=AUTHOR, message="a")
    assert count_changed_paths(git, main, small) == 1
    assert [d.path for d in diff_commits(git, main, small)] == ["a.txt"]
    bomb = commit_tree(git.raw, tree_bomb(git.raw, levels=8, fanout=10), parents=[small])
    assert count_changed_paths(git, small, bomb) == MAX_CHANGED_PATHS + 1
    started = time.process_time()
    with pytest.raises(TreeTooLarge, match="too large to display"):
        diff_commits(git, small, bomb)
    assert time.process_time() - started < 2.0
    # Identical subtrees are skipped: a one-file change inside the bomb is one changed path.
    raw = git.raw
    top = raw[raw[bomb].tree_id]
    builder = raw.TreeBuilder(top)
    builder.insert("new.txt", raw.create_blob(b"n"), 0o100644)
    tweaked = commit_tree(raw, builder.write(), parents=[bomb])
    assert count_changed_paths(git, bomb, tweaked) == 1
