"""Writes: commits from operations, compare-and-swap ref updates, concurrency with git."""
from __future__ import annotations

import multiprocessing
import subprocess
import threading
import time
from pathlib import Path

import pytest

from repos.git.commit import (
    DeleteFile,
    DeleteFolder,
    Operation,
    PutBlob,
    PutFile,
    Signature,
    build_commit,
    commit_to_ref,
    create_root_commit,
    update_ref,
)
from repos.git.errors import (
    EntryNotFound,
    InvalidPath,
    InvalidRefName,
    RefConflict,
    RefExists,
    RepoLocked,
    RevisionNotFound,
)
from repos.git.repository import GitRepo
from tests.repos.git.conftest import AUTHOR, GitRunner, run_git

FORK = multiprocessing.get_context("fork")


def _files(repo: GitRepo, sha: str) -> dict[str, bytes]:
    return {e.path: repo.read_blob(e.oid) for e in repo.iter_files(sha)}


def _fsck(repo: GitRepo) -> None:
    result = subprocess.run(["git", "fsck", "--full", "--strict"], cwd=repo.path,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in result.stderr and "warning" not in result.stderr


# ---------------------------------------------------------------------- operations


def test_operations_round_trip(seeded: tuple[GitRepo, str]) -> None:
    repo, root = seeded
    existing_blob = repo.get_entry(root, "config.json")
    assert existing_blob is not None
    new = commit_to_ref(
        repo,
        ref="main",
        ops=[
            PutFile("README.md", b"# changed\n"),
            PutFile("/new/deep/file.bin", b"\x00\x01\x02"),
            PutFile("./run.sh", b"#!/bin/sh\n", executable=True),
            PutBlob("copy/of/config.json", existing_blob.oid),
            DeleteFile("data/train.csv"),  # empties `data/`, which must disappear
            DeleteFolder("src/utils/"),
        ],
        author=AUTHOR,
        message="many changes",
        expected_head=root[:7],
    )
    assert repo.resolve("main") == new
    assert repo.commit_info(new).parents == [root]
    assert _files(repo, new) == {
        "README.md": b"# changed\n",
        "config.json": b'{"a": 1}\n',
        "copy/of/config.json": b'{"a": 1}\n',
        "new/deep/file.bin": b"\x00\x01\x02",
        "run.sh": b"#!/bin/sh\n",
        "src/model.py": b"print('hi')\n",
    }
    assert repo.get_entry(new, "data") is None
    run_sh = repo.get_entry(new, "run.sh")
    assert run_sh is not None and run_sh.mode == 0o100755
    # Untouched folders keep their tree object: nothing outside the edited paths is rebuilt.
    assert repo.get_entry(new, "src") != repo.get_entry(root, "src")
    assert repo.get_entry(new, "config.json") == repo.get_entry(root, "config.json")
    _fsck(repo)


def test_operations_apply_in_order(seeded: tuple[GitRepo, str]) -> None:
    repo, root = seeded
    sha = build_commit(
        repo,
        parent=root,
        ops=[DeleteFolder("src"), PutFile("src", b"now a file"), DeleteFile("src"),
             PutFile("src/again.py", b"1"), PutFile("src/again.py", b"2")],
        author=AUTHOR,
        message="reorder",
    )
    assert _files(repo, sha)["src/again.py"] == b"2"
    assert repo.resolve("main") == root  # build_commit moves no ref


def test_unchanged_tree_is_allowed(seeded: tuple[GitRepo, str]) -> None:
    repo, root = seeded
    sha = build_commit(repo, parent=root, ops=[PutFile("README.md", b"# hello\n")],
                       author=AUTHOR, message="noop")
    assert sha != root
    assert repo.get_commit(sha).tree_id == repo.get_commit(root).tree_id


def test_deleting_everything_gives_the_empty_tree(seeded: tuple[GitRepo, str]) -> None:
    repo, root = seeded
    ops: list[Operation] = [DeleteFile("README.md"), DeleteFile("config.json"),
                            DeleteFolder("src"), DeleteFolder("data")]
    sha = commit_to_ref(repo, ref="main", ops=ops, author=AUTHOR, message="wipe")
    assert repo.list_tree(sha) == []
    _fsck(repo)


def test_a_file_deletion_naming_a_folder_deletes_the_folder(seeded: tuple[GitRepo, str]) -> None:
    """huggingface_hub's CommitOperationDelete("src") without the trailing slash: the Hub
    deletes the folder."""
    repo, root = seeded
    sha = commit_to_ref(repo, ref="main", ops=[DeleteFile("src")], author=AUTHOR, message="rm src")
    before, after = _files(repo, root), _files(repo, sha)
    assert any(p.startswith("src/") for p in before)
    assert after == {p: v for p, v in before.items() if not p.startswith("src/")}


@pytest.mark.parametrize(
    ("op", "error", "text"),
    [
        (DeleteFile("missing.txt"), EntryNotFound, "A file with this name doesn't exist"),
        (DeleteFile("README.md/x"), EntryNotFound, "doesn't exist"),
        (DeleteFolder("nope/"), EntryNotFound, "A folder with this name doesn't exist"),
        (DeleteFolder("README.md"), EntryNotFound, "folder"),
        (PutFile("src", b"x"), InvalidPath, "a folder with this name exists"),
        (PutFile("README.md/inner.txt", b"x"), InvalidPath, "is a file"),
        (PutFile("../escape", b"x"), InvalidPath, None),
        (PutFile(".git/config", b"x"), InvalidPath, None),
        (PutFile("A/.GIT/x", b"x"), InvalidPath, None),
        (PutFile("a\x00b", b"x"), InvalidPath, None),
        (PutBlob("x.bin", "1" * 40), EntryNotFound, "Blob not found"),
        (PutBlob("x.bin", "--help"), EntryNotFound, "Blob not found"),
    ],
)
def test_bad_operations_fail_and_move_nothing(
    seeded: tuple[GitRepo, str], op: Operation, error: type[Exception], text: str | None
) -> None:
    repo, root = seeded
    with pytest.raises(error, match=text):
        commit_to_ref(repo, ref="main", ops=[PutFile("ok.txt", b"1"), op], author=AUTHOR,
                      message="bad")
    assert repo.resolve("main") == root


def test_put_blob_rejects_non_blobs(seeded: tuple[GitRepo, str]) -> None:
    repo, root = seeded
    tree = str(repo.get_commit(root).tree_id)
    with pytest.raises(EntryNotFound, match="Not a blob"):
        build_commit(repo, parent=root, ops=[PutBlob("t", tree)], author=AUTHOR, message="m")


# ---------------------------------------------------------------------- commit_to_ref


def test_commit_to_ref_expected_head(seeded: tuple[GitRepo, str]) -> None:
    repo, root = seeded
    first = commit_to_ref(repo, ref="refs/heads/main", ops=[PutFile("a", b"1")], author=AUTHOR,
                          message="a", expected_head=root)
    with pytest.raises(RefConflict):  # stale parent: `root` is no longer the head
        commit_to_ref(repo, ref="main", ops=[PutFile("b", b"2")], author=AUTHOR,
                      message="b", expected_head=root)
    with pytest.raises(RevisionNotFound):
        commit_to_ref(repo, ref="main", ops=[], author=AUTHOR, message="b",
                      expected_head="xyz")
    assert commit_to_ref(repo, ref="main", ops=[PutFile("b", b"2")], author=AUTHOR,
                         message="b", expected_head=first[:5].upper()) == repo.resolve("main")


def test_commit_to_missing_ref(seeded: tuple[GitRepo, str]) -> None:
    repo, _ = seeded
    with pytest.raises(RevisionNotFound):
        commit_to_ref(repo, ref="nope", ops=[PutFile("a", b"1")], author=AUTHOR, message="m")
    sha = commit_to_ref(repo, ref="refs/pr/1", ops=[PutFile("a", b"1")], author=AUTHOR,
                        message="m", create=True)
    assert repo.commit_info(sha).parents == []
    assert repo.resolve("refs/pr/1") == sha
    with pytest.raises(InvalidRefName):
        commit_to_ref(repo, ref="a..b", ops=[], author=AUTHOR, message="m", create=True)


def test_create_root_commit_refuses_existing_ref(seeded: tuple[GitRepo, str]) -> None:
    repo, root = seeded
    with pytest.raises(RefExists):
        create_root_commit(repo, ref="main", files={"x": b"y"}, author=AUTHOR, message="m")
    assert repo.resolve("main") == root


# ---------------------------------------------------------------------- update_ref


def test_update_ref_compare_and_swap(seeded: tuple[GitRepo, str]) -> None:
    repo, root = seeded
    other = build_commit(repo, parent=root, ops=[PutFile("x", b"1")], author=AUTHOR,
                         message="x")
    update_ref(repo, "refs/heads/dev", root, expected_old=None)
    with pytest.raises(RefExists):
        update_ref(repo, "refs/heads/dev", other, expected_old=None)
    with pytest.raises(RefConflict):
        update_ref(repo, "refs/heads/dev", other, expected_old=other)
    update_ref(repo, "refs/heads/dev", other, expected_old=root)
    assert repo.resolve("dev") == other
    with pytest.raises(RefConflict):
        update_ref(repo, "refs/heads/dev", None, expected_old=root)
    update_ref(repo, "refs/heads/dev", None, expected_old=other)
    assert "dev" not in repo.branches()
    assert not (repo.path / "logs" / "refs" / "heads" / "dev").exists()  # like git
    with pytest.raises(RefConflict):  # it no longer exists
        update_ref(repo, "refs/heads/dev", root, expected_old=other)
    # Each move is in the reflog (core.logAllRefUpdates), with who did it and why.
    reflog = (repo.path / "logs" / "refs" / "heads" / "main").read_text()
    assert f"{'0' * 40} {root} Alice <alice@example.com> " in reflog
    assert reflog.endswith("\tcommit (initial): initial commit\n")
    update_ref(repo, "refs/heads/log", root, expected_old=None)
    update_ref(repo, "refs/heads/log", other, expected_old=root, reflog_message="moved",
               who=Signature("Bob <x>", "bob@example.com"))
    lines = (repo.path / "logs" / "refs" / "heads" / "log").read_text().splitlines()
    assert " ModelHub <hub@localhost> " in lines[0]
    assert lines[1].startswith(f"{root} {other} Bob x <bob@example.com> ")
    assert lines[1].endswith("\tmoved")


def test_update_ref_validates_names_and_targets(seeded: tuple[GitRepo, str]) -> None:
    repo, root = seeded
    tree = str(repo.get_commit(root).tree_id)
    for bad in ["main", "HEAD", "config", "refs/heads/a..b", "refs/heads/x.lock", "--force"]:
        with pytest.raises(InvalidRefName):
            update_ref(repo, bad, root, expected_old=None)
    with pytest.raises(RevisionNotFound):
        update_ref(repo, "refs/heads/x", "2" * 40, expected_old=None)
    with pytest.raises(RevisionNotFound):
        update_ref(repo, "refs/heads/x", tree, expected_old=None)
    with pytest.raises(RevisionNotFound):
        update_ref(repo, "refs/heads/x", root[:10], expected_old=None)
    # a/b and a cannot coexist in git's ref namespace.
    update_ref(repo, "refs/heads/a/b", root, expected_old=None)
    with pytest.raises(RefExists, match="conflicts"):
        update_ref(repo, "refs/heads/a", root, expected_old=None)
    with pytest.raises(RefExists, match="conflicts"):
        update_ref(repo, "refs/heads/a/b/c", root, expected_old=None)
    # Once a/b is gone, its empty directory must not block `a`.
    update_ref(repo, "refs/heads/a/b", None, expected_old=root)
    update_ref(repo, "refs/heads/a", root, expected_old=None)
    assert repo.resolve("a") == root


def test_update_ref_works_on_packed_refs(seeded: tuple[GitRepo, str], git: GitRunner) -> None:
    repo, root = seeded
    update_ref(repo, "refs/heads/packed", root, expected_old=None)
    git("pack-refs", "--all", "--prune")
    assert not (repo.path / "refs" / "heads" / "packed").exists()
    nxt = build_commit(repo, parent=root, ops=[PutFile("p", b"1")], author=AUTHOR, message="p")
    with pytest.raises(RefConflict):
        update_ref(repo, "refs/heads/packed", nxt, expected_old=nxt)
    update_ref(repo, "refs/heads/packed", nxt, expected_old=root)
    assert git("rev-parse", "refs/heads/packed").strip() == nxt
    update_ref(repo, "refs/heads/packed", None, expected_old=nxt)
    assert git("for-each-ref", "refs/heads/packed") == ""


# ---------------------------------------------------------------------- racing git itself


def test_git_update_between_read_and_cas_makes_cas_fail(
    seeded: tuple[GitRepo, str], git: GitRunner
) -> None:
    repo, root = seeded
    ours = build_commit(repo, parent=root, ops=[PutFile("ours", b"1")], author=AUTHOR,
                        message="ours")
    theirs = build_commit(repo, parent=root, ops=[PutFile("theirs", b"1")], author=AUTHOR,
                          message="theirs")
    observed = repo.resolve("main")  # our read
    git("update-ref", "refs/heads/main", theirs, root)  # another process moves the ref
    with pytest.raises(RefConflict):
        update_ref(repo, "refs/heads/main", ours, expected_old=observed)
    assert repo.resolve("main") == theirs  # their update survived
    with pytest.raises(RefConflict):
        commit_to_ref(repo, ref="main", ops=[PutFile("x", b"1")], author=AUTHOR,
                      message="m", expected_head=observed)


def test_push_between_read_and_cas_makes_cas_fail(
    seeded: tuple[GitRepo, str], tmp_path: Path
) -> None:
    repo, root = seeded
    work = tmp_path / "clone"
    run_git(tmp_path, "clone", "-q", str(repo.path), str(work))
    (work / "pushed.txt").write_text("from a push\n")
    run_git(work, "add", "pushed.txt")
    run_git(work, "commit", "-q", "-m", "pushed")
    observed = repo.resolve("main")
    ours = build_commit(repo, parent=observed, ops=[PutFile("api.txt", b"1")], author=AUTHOR,
                        message="api")
    run_git(work, "push", "-q", "origin", "main")  # runs git receive-pack on the bare repo
    pushed = run_git(work, "rev-parse", "HEAD").strip()
    with pytest.raises(RefConflict):
        update_ref(repo, "refs/heads/main", ours, expected_old=observed)
    assert repo.resolve("main") == pushed
    # A commit through the layer now builds on top of the push.
    sha = commit_to_ref(repo, ref="main", ops=[PutFile("api.txt", b"1")], author=AUTHOR,
                        message="api")
    assert repo.commit_info(sha).parents == [pushed]
    assert set(_files(repo, sha)) >= {"pushed.txt", "api.txt"}


def test_ref_lockfile_held_by_git_blocks_then_releases(seeded: tuple[GitRepo, str]) -> None:
    # receive-pack holds `<ref>.lock` while it updates a ref: we must wait, never write.
    repo, root = seeded
    nxt = build_commit(repo, parent=root, ops=[PutFile("n", b"1")], author=AUTHOR, message="n")
    lockfile = repo.path / "refs" / "heads" / "main.lock"
    lockfile.write_text(root + "\n")
    with pytest.raises(RepoLocked):
        update_ref(repo, "refs/heads/main", nxt, expected_old=root, timeout=0.2)
    assert lockfile.exists()  # not ours to remove
    assert repo.resolve("main") == root

    timer = threading.Timer(0.2, lockfile.unlink)
    timer.start()
    started = time.monotonic()
    update_ref(repo, "refs/heads/main", nxt, expected_old=root, timeout=5)
    timer.join()
    assert time.monotonic() - started >= 0.15
    assert repo.resolve("main") == nxt


def test_repo_lock_timeout_surfaces_as_repo_locked(seeded: tuple[GitRepo, str]) -> None:
    repo, root = seeded
    ready_recv, ready_send = FORK.Pipe(duplex=False)
    release_recv, release_send = FORK.Pipe(duplex=False)
    holder = FORK.Process(target=_hold, args=(str(repo.path), ready_send, release_recv))
    holder.start()
    try:
        assert ready_recv.recv() == "held"
        with pytest.raises(RepoLocked):
            commit_to_ref(repo, ref="main", ops=[PutFile("a", b"1")], author=AUTHOR,
                          message="m", timeout=0.1)
    finally:
        release_send.send("go")
        holder.join(5)
    assert repo.resolve("main") == root


def _hold(path: str, ready: object, release: object) -> None:
    from repos.git.lock import repo_lock

    with repo_lock(Path(path)):
        ready.send("held")  # type: ignore[attr-defined]
        release.recv()  # type: ignore[attr-defined]


# ---------------------------------------------------------------------- multi-process race


def _race_worker(args: tuple[str, int, int, bool]) -> tuple[list[str], int]:
    path, worker, rounds, use_commit_to_ref = args
    repo = GitRepo.open(path)
    succeeded: list[str] = []
    failed = 0
    for i in range(rounds):
        ops = [PutFile(f"w{worker}/{i}.txt", f"{worker}-{i}\n".encode())]
        try:
            if use_commit_to_ref:
                sha = commit_to_ref(repo, ref="main", ops=ops, author=AUTHOR,
                                    message=f"w{worker} #{i}")
            else:
                # Read without the lock, build, then CAS: losers must fail, never overwrite.
                head = repo.resolve("main")
                sha = build_commit(repo, parent=head, ops=ops, author=AUTHOR,
                                   message=f"w{worker} #{i}")
                update_ref(repo, "refs/heads/main", sha, expected_old=head)
        except (RefConflict, RepoLocked):
            failed += 1
            continue
        succeeded.append(sha)
    return succeeded, failed


@pytest.mark.parametrize("use_commit_to_ref", [True, False], ids=["commit_to_ref", "raw-cas"])
def test_multi_process_race(seeded: tuple[GitRepo, str], use_commit_to_ref: bool) -> None:
    repo, root = seeded
    with FORK.Pool(4) as pool:
        results = pool.map(_race_worker, [(str(repo.path), w, 10, use_commit_to_ref)
                                          for w in range(4)])
    successes = [sha for shas, _ in results for sha in shas]
    failures = sum(failed for _, failed in results)
    assert len(successes) + failures == 40
    if use_commit_to_ref:
        assert failures == 0  # the repo lock serializes read-build-swap
    head = GitRepo.open(repo.path).resolve("main")
    history = {c.sha for c in repo.log(head, limit=1000)}
    assert set(successes) <= history
    assert repo.count_commits(head) == len(successes) + 1
    files = _files(repo, head)
    written = {p for p in files if p.startswith("w")}
    assert len(written) == len(successes)  # no lost update
    _fsck(repo)
