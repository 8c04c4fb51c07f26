"""The pure merge layer: fast-forward and behind analysis, merge commits, conflicts named by
file, bounded like diffs."""
from __future__ import annotations

import pytest

from repos.git import commit as gc
from repos.git.errors import MergeConflict, TreeTooLarge
from repos.git.limits import WalkLimits
from repos.git.merge import analyze_merge, build_merge_commit
from repos.git.repository import GitRepo

SIG = gc.Signature("t", "t@example.com")


@pytest.fixture
def history(tmp_path):
    repo = GitRepo.init_bare(tmp_path / "r.git")
    root = gc.create_root_commit(repo, ref="main", files={"a.txt": b"1\n2\n3\n", "b.txt": b"b\n"}, author=SIG,
                                 message="root")
    return repo, root


def _commit(repo, parent, files):
    return gc.build_commit(repo, parent=parent, ops=[gc.PutFile(p, d) for p, d in files.items()], author=SIG,
                           message="c")


def test_fast_forward_and_nothing_to_merge(history):
    repo, root = history
    head = _commit(repo, root, {"c.txt": b"c\n"})
    ahead = analyze_merge(repo, root, head)
    assert ahead.fast_forward and ahead.ahead == 1 and ahead.behind == 0 and ahead.conflicts == []
    merged_in = analyze_merge(repo, head, root)
    assert merged_in.head_in_base and not merged_in.fast_forward


def test_merge_commit_of_diverged_histories(history):
    repo, root = history
    base = _commit(repo, root, {"a.txt": b"1\n2\n3 main\n"})
    head = _commit(repo, root, {"c.txt": b"c\n"})
    analysis = analyze_merge(repo, base, head)
    assert not analysis.fast_forward and analysis.behind == 1 and analysis.ahead == 1 and analysis.mergeable
    sha = build_merge_commit(repo, base=base, head=head, author=SIG, message="merge")
    info = repo.commit_info(sha)
    assert info.parents == [base, head]
    assert repo.read_blob(repo.get_entry(sha, "a.txt").oid) == b"1\n2\n3 main\n"
    assert repo.get_entry(sha, "c.txt") is not None


def test_conflicts_are_named(history):
    repo, root = history
    base = _commit(repo, root, {"a.txt": b"1\n2\nmain\n", "b.txt": b"main\n"})
    head = _commit(repo, root, {"a.txt": b"1\n2\npr\n", "b.txt": b"pr\n", "ok.txt": b"fine\n"})
    assert analyze_merge(repo, base, head).conflicts == ["a.txt", "b.txt"]
    with pytest.raises(MergeConflict) as exc:
        build_merge_commit(repo, base=base, head=head, author=SIG, message="merge")
    assert exc.value.paths == ["a.txt", "b.txt"] and "a.txt, b.txt" in str(exc.value)


def test_merges_are_bounded(history, monkeypatch):
    repo, root = history
    base = _commit(repo, root, {f"m/{i}.txt": b"x" for i in range(5)})
    head = _commit(repo, root, {f"p/{i}.txt": b"y" for i in range(5)})
    monkeypatch.setattr("repos.git.merge.MAX_CHANGED_PATHS", 3)
    with pytest.raises(TreeTooLarge):
        analyze_merge(repo, base, head, limits=WalkLimits(max_paths=1000, max_depth=10, max_entries=1000, seconds=5))
