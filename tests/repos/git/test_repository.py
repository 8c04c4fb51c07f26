"""Reads: repository creation, revision resolution, refs, trees, blobs and history."""
from __future__ import annotations

from datetime import UTC
from pathlib import Path

import pygit2
import pytest

from repos.git.commit import DeleteFile, PutFile, Signature, build_commit, commit_to_ref, update_ref
from repos.git.errors import EntryNotFound, GitError, InvalidPath, RevisionNotFound
from repos.git.repository import GitRepo, TreeEntry
from tests.repos.git.conftest import AUTHOR


def test_init_bare_configures_the_repository(tmp_path: Path) -> None:
    repo = GitRepo.init_bare(tmp_path / "x" / "y" / "new.git", default_branch="trunk")
    assert repo.path == (tmp_path / "x" / "y" / "new.git").resolve()
    assert repo.raw.is_bare
    assert repo.default_branch == "trunk"
    assert repo.is_empty()
    assert repo.raw.config["core.logAllRefUpdates"] == "true"
    assert repo.raw.config.get_bool("receive.fsckObjects") is True
    assert (repo.path / "HEAD").read_text() == "ref: refs/heads/trunk\n"
    # An unborn HEAD resolves to nothing.
    with pytest.raises(RevisionNotFound):
        repo.resolve("HEAD")


def test_init_bare_refuses_existing_content(tmp_path: Path) -> None:
    (tmp_path / "taken.git").mkdir()
    (tmp_path / "taken.git" / "file").write_text("x")
    with pytest.raises(GitError):
        GitRepo.init_bare(tmp_path / "taken.git")


def test_open_requires_a_repository(tmp_path: Path, repo: GitRepo) -> None:
    assert GitRepo.open(repo.path).path == repo.path
    # tmp_path may live inside another repository: opening must not search upwards.
    with pytest.raises(GitError):
        GitRepo.open(tmp_path / "nothing")


def test_resolve_variants(seeded: tuple[GitRepo, str]) -> None:
    repo, sha = seeded
    second = commit_to_ref(repo, ref="main", ops=[PutFile("b.txt", b"b")], author=AUTHOR,
                           message="second")
    update_ref(repo, "refs/heads/feature/x", sha, expected_old=None)
    update_ref(repo, "refs/pr/1", second, expected_old=None)
    update_ref(repo, "refs/tags/light", sha, expected_old=None)
    tagger = pygit2.Signature("T", "t@example.com")
    repo.raw.create_tag("v1.0", pygit2.Oid(hex=second), pygit2.enums.ObjectType.COMMIT, tagger,
                        "release\n")
    tag_object = str(repo.raw.references["refs/tags/v1.0"].target)
    assert tag_object != second  # really an annotated tag object

    assert repo.resolve("main") == second
    assert repo.resolve("HEAD") == second
    assert repo.resolve("refs/heads/main") == second
    assert repo.resolve("feature/x") == sha
    assert repo.resolve("refs/heads/feature/x") == sha
    assert repo.resolve("refs/pr/1") == second
    assert repo.resolve("light") == sha
    assert repo.resolve("v1.0") == second  # peeled
    assert repo.resolve("refs/tags/v1.0") == second
    assert repo.resolve(tag_object) == second
    assert repo.resolve(sha) == sha
    assert repo.resolve(sha.upper()) == sha
    assert repo.resolve(sha[:7]) == sha
    assert repo.resolve(second[:12]) == second
    for missing in ["nope", "refs/pr/2", "pr/1", sha[:6], "0" * 40, "deadbeef"]:
        with pytest.raises(RevisionNotFound):
            repo.resolve(missing)


def test_resolve_refuses_non_commits(seeded: tuple[GitRepo, str]) -> None:
    repo, sha = seeded
    tree = str(repo.get_commit(sha).tree_id)
    blob = repo.get_entry(sha, "README.md")
    assert blob is not None
    for rev in [tree, blob.oid, blob.oid[:10]]:
        with pytest.raises(RevisionNotFound):
            repo.resolve(rev)


@pytest.mark.parametrize(
    "rev",
    ["--upload-pack=x", "-main", "main..x", "main...x", "HEAD@{1}", "main@{yesterday}",
     "main^", "main~1", "main^{tree}", "main:README.md", ":/initial", "ma*n", "main\x00",
     "a b", "main\n", "", "x" * 2000],
)
def test_evil_revisions_are_not_found(seeded: tuple[GitRepo, str], rev: str) -> None:
    repo, _ = seeded
    with pytest.raises(RevisionNotFound):
        repo.resolve(rev)


def test_refs_branches_and_tags(seeded: tuple[GitRepo, str]) -> None:
    repo, sha = seeded
    update_ref(repo, "refs/heads/dev", sha, expected_old=None)
    update_ref(repo, "refs/pr/3", sha, expected_old=None)
    repo.raw.create_tag("v2", pygit2.Oid(hex=sha), pygit2.enums.ObjectType.COMMIT,
                        pygit2.Signature("T", "t@example.com"), "annotated\n")
    assert repo.branches() == {"dev": sha, "main": sha}
    assert repo.tags() == {"v2": sha}
    assert repo.refs("refs/pr/") == {"refs/pr/3": sha}
    assert set(repo.refs("refs/")) == {"refs/heads/dev", "refs/heads/main", "refs/pr/3",
                                       "refs/tags/v2"}


def test_list_tree_non_recursive(seeded: tuple[GitRepo, str]) -> None:
    repo, sha = seeded
    root = repo.list_tree(sha)
    assert [(e.path, e.type) for e in root] == [
        ("README.md", "file"), ("config.json", "file"), ("data", "directory"),
        ("src", "directory"),
    ]
    readme = root[0]
    assert readme.size == len(b"# hello\n")
    assert readme.mode == 0o100644
    assert readme.oid == str(pygit2.hash(b"# hello\n"))
    assert root[2].size == 0 and root[2].mode == 0o040000
    src = repo.list_tree(sha, "src")
    assert [(e.path, e.type) for e in src] == [("src/model.py", "file"),
                                               ("src/utils", "directory")]
    assert repo.list_tree(sha, "src/utils/") == repo.list_tree(sha, "/src/utils")


def test_list_tree_recursive_lists_everything(seeded: tuple[GitRepo, str]) -> None:
    repo, sha = seeded
    everything = repo.list_tree(sha, recursive=True)
    assert [e.path for e in everything] == [
        "README.md", "config.json", "data", "data/train.csv", "src", "src/model.py",
        "src/utils", "src/utils/io.py",
    ]
    assert [e.path for e in repo.list_tree(sha, "src", recursive=True)] == [
        "src/model.py", "src/utils", "src/utils/io.py",
    ]
    files = list(repo.iter_files(sha))
    assert [f.path for f in files] == [
        "README.md", "config.json", "data/train.csv", "src/model.py", "src/utils/io.py",
    ]
    assert all(f.type == "file" for f in files)
    assert files[2].size == len(b"a,b\n1,2\n")


def test_list_tree_errors(seeded: tuple[GitRepo, str]) -> None:
    repo, sha = seeded
    with pytest.raises(EntryNotFound):
        repo.list_tree(sha, "missing")
    with pytest.raises(EntryNotFound):
        repo.list_tree(sha, "README.md")  # a file is not a folder
    with pytest.raises(InvalidPath):
        repo.list_tree(sha, "../etc")
    with pytest.raises(RevisionNotFound):
        repo.list_tree("main", "")  # layer methods take resolved shas only
    with pytest.raises(RevisionNotFound):
        repo.list_tree("0" * 40)


def test_get_entry_and_read_blob(seeded: tuple[GitRepo, str]) -> None:
    repo, sha = seeded
    entry = repo.get_entry(sha, "src/utils/io.py")
    assert entry == TreeEntry(path="src/utils/io.py", type="file",
                              oid=str(pygit2.hash(b"x = 1\n")), mode=0o100644, size=6)
    assert repo.read_blob(entry.oid) == b"x = 1\n"
    assert repo.blob_size(entry.oid) == 6
    folder = repo.get_entry(sha, "src/utils")
    assert folder is not None and folder.type == "directory" and folder.size == 0
    root = repo.get_entry(sha, "")
    assert root is not None and root.oid == str(repo.get_commit(sha).tree_id)
    assert repo.get_entry(sha, "src/nothing.py") is None
    assert repo.get_entry(sha, "README.md/child") is None
    with pytest.raises(EntryNotFound):
        repo.read_blob(folder.oid)  # a tree is not a blob
    with pytest.raises(EntryNotFound):
        repo.read_blob("1" * 40)
    with pytest.raises(EntryNotFound):
        repo.read_blob("--output=x")


def _commit(repo: GitRepo, path: str, data: bytes, message: str) -> str:
    return commit_to_ref(repo, ref="main", ops=[PutFile(path, data)], author=AUTHOR,
                         message=message)


def test_log_pagination_and_commit_info(seeded: tuple[GitRepo, str]) -> None:
    repo, root = seeded
    shas = [root] + [_commit(repo, f"f{i}.txt", b"x", f"commit {i}\n\nbody {i}") for i in range(5)]
    head = shas[-1]
    log = repo.log(head)
    assert [c.sha for c in log] == list(reversed(shas))
    assert [c.sha for c in repo.log(head, limit=2, offset=1)] == [shas[4], shas[3]]
    assert repo.log(head, offset=10) == []
    info = repo.commit_info(head)
    assert info.title == "commit 4"
    assert info.message == "commit 4\n\nbody 4"
    assert (info.author_name, info.author_email) == ("Alice", "alice@example.com")
    assert info.date.tzinfo is not None and info.date.utcoffset() == UTC.utcoffset(None)
    assert info.parents == [shas[4]]
    assert repo.count_commits(head) == 6
    assert repo.count_commits(root) == 1
    assert repo.is_ancestor(root, head)
    assert repo.is_ancestor(head, head)
    assert not repo.is_ancestor(head, root)


def test_log_for_a_path(seeded: tuple[GitRepo, str]) -> None:
    repo, root = seeded
    a = _commit(repo, "src/model.py", b"v2\n", "edit model")
    _commit(repo, "other.txt", b"x", "unrelated")
    c = commit_to_ref(repo, ref="main", ops=[DeleteFile("src/model.py")], author=AUTHOR,
                      message="delete model")
    d = _commit(repo, "src/new.py", b"n", "add new")
    assert [x.sha for x in repo.log(d, path="src/model.py")] == [c, a, root]
    assert [x.sha for x in repo.log(d, path="src")] == [d, c, a, root]
    assert [x.sha for x in repo.log(d, path="src/", limit=1, offset=1)] == [c]
    assert repo.log(d, path="never/existed") == []


def test_log_for_a_path_simplifies_merges(seeded: tuple[GitRepo, str]) -> None:
    # main: root -> m1 (touches a.txt); side: root -> s1 (touches a.txt) -> merge(m1, s1)
    # where the merge keeps main's a.txt. s1's change was discarded: like git, not listed.
    repo, root = seeded
    m1 = _commit(repo, "a.txt", b"main\n", "main edit")
    s1 = build_commit(repo, parent=root, ops=[PutFile("a.txt", b"side\n")], author=AUTHOR,
                      message="side edit")
    raw = repo.raw
    sig = pygit2.Signature("A", "a@example.com")
    merge = str(raw.create_commit(None, sig, sig, "merge\n", repo.get_commit(m1).tree_id,
                                  [pygit2.Oid(hex=m1), pygit2.Oid(hex=s1)]))
    assert [c.sha for c in repo.log(merge, path="a.txt")] == [m1]
    assert repo.count_commits(merge) == 4
    assert [c.sha for c in repo.log(merge)][0] == merge


def test_last_commit_for_paths(seeded: tuple[GitRepo, str]) -> None:
    repo, root = seeded
    a = _commit(repo, "src/model.py", b"v2\n", "edit model")
    b = _commit(repo, "README.md", b"# v2\n", "edit readme")
    _commit(repo, "README.md", b"# hello\n", "revert readme")  # back to the root version
    head = repo.resolve("main")
    result = repo.last_commit_for_paths(
        head, ["README.md", "config.json", "src", "src/model.py", "src/utils/io.py",
               "missing.txt", "data/"]
    )
    assert result["src/model.py"].sha == a
    assert result["src"].sha == a
    assert result["src/utils/io.py"].sha == root
    assert result["config.json"].sha == root
    assert result["data/"].sha == root
    assert result["README.md"].sha == head  # the revert produced the current version
    assert result["README.md"].sha != b
    assert "missing.txt" not in result
    # Bounded: with a single commit walked only paths changed by the head are settled.
    assert set(repo.last_commit_for_paths(head, ["README.md", "src"], max_commits=1)) == {
        "README.md"
    }


def test_commit_info_sanitizes_signature(repo: GitRepo) -> None:
    sha = build_commit(repo, parent=None, ops=[], author=Signature("Eve <evil>\n", "e@x"),
                       message="\x00msg  \n\n")
    info = repo.commit_info(sha)
    assert info.author_name == "Eve evil"
    assert info.message == "msg"
