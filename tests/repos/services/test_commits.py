"""commit_create: operations, LFS rules, bad input leaving the branch untouched, PRs, races."""
from __future__ import annotations

import hashlib
import threading

import pytest

from hub import exceptions as exc
from repos import events
from repos.git.gitattributes import lfs_patterns, matches_lfs
from repos.handles import git_repo
from repos.lfs.pointer import format_pointer, parse_pointer
from repos.models import Discussion, Repository
from repos.services.commits import (
    AddFile,
    AddLfsFile,
    CommitHeader,
    DeleteFile,
    DeleteFolder,
    commit_create,
)
from tests.factories import LfsObjectFactory, RepositoryFactory


def head(repo, ref="refs/heads/main"):
    return git_repo(repo).resolve(ref)


def read(repo, path, rev="main"):
    git = git_repo(repo)
    entry = git.get_entry(git.resolve(rev), path)
    return None if entry is None else git.read_blob(entry.oid)


def commit(repo, user, ops, *, revision="main", summary="update", **kw):
    header = CommitHeader(summary=summary, description=kw.pop("description", ""),
                          parent_commit=kw.pop("parent_commit", None))
    return commit_create(repo=repo, user=user, revision=revision, header=header, operations=ops, **kw)


# ---------------------------------------------------------------------- happy paths


def test_regular_file_commit_moves_branch_and_indexes(repo, alice):
    before = head(repo)
    result = commit(repo, alice, [AddFile("config.json", b'{"model_type": "bert"}\n')],
                    summary="Add config", description="details")
    assert result.sha == head(repo) != before
    assert result.ref == "refs/heads/main"
    git = git_repo(repo)
    info = git.commit_info(result.sha)
    assert info.parents == [before]
    assert info.message == "Add config\n\ndetails"
    assert info.author_name == "alice"
    assert read(repo, "config.json") == b'{"model_type": "bert"}\n'
    # The git oid the HF client expects for this content (HF_PROTOCOL.md §2.8).
    assert git.get_entry(result.sha, "config.json").oid == "dc1fb7b6703fe03317c1a080b523bf475f3d4818"
    repo.refresh_from_db()
    assert repo.head_sha == result.sha


def test_lfs_file_writes_canonical_pointer(repo, alice):
    data = b"\0" * 1024
    oid = LfsObjectFactory(repo=repo, data=data).oid
    attrs_before = read(repo, ".gitattributes")
    result = commit(repo, alice, [AddLfsFile("model.safetensors", oid, 1024)])
    git = git_repo(repo)
    entry = git.get_entry(result.sha, "model.safetensors")
    assert entry.oid == "abc8240e440587e9d4b59102163573492833ac8a"  # §2.8 example pointer
    assert parse_pointer(git.read_blob(entry.oid)).oid == oid
    # Covered by the default rules: .gitattributes untouched.
    assert read(repo, ".gitattributes") == attrs_before
    repo.refresh_from_db()
    assert repo.used_storage >= 1024


def test_lfs_file_outside_gitattributes_adds_rule_in_same_commit(repo, alice):
    oid = LfsObjectFactory(repo=repo, data=b"weights" * 100).oid
    before_attrs = read(repo, ".gitattributes").decode()
    assert not matches_lfs("weights.custom", lfs_patterns(before_attrs))
    result = commit(repo, alice, [AddLfsFile("sub dir/weights.custom", oid, 700)])
    attrs = read(repo, ".gitattributes").decode()
    assert attrs.startswith(before_attrs)
    assert matches_lfs("sub dir/weights.custom", lfs_patterns(attrs))
    assert read(repo, "sub dir/weights.custom", result.sha) == format_pointer(oid, 700)


def test_lfs_copy_without_size_looks_size_up(repo, alice):
    data = b"x" * 300
    oid = LfsObjectFactory(repo=repo, data=data).oid
    commit(repo, alice, [AddLfsFile("a.bin", oid, 300)])
    commit(repo, alice, [AddLfsFile("copy/b.bin", oid)])
    assert read(repo, "copy/b.bin") == format_pointer(oid, 300)


def test_delete_file_and_folder(repo, alice):
    commit(repo, alice, [AddFile("keep.txt", b"k"), AddFile("ckpt/a.txt", b"a"), AddFile("ckpt/sub/b.txt", b"b"),
                         AddFile("old.txt", b"o")])
    commit(repo, alice, [DeleteFile("old.txt"), DeleteFolder("ckpt/")])
    assert read(repo, "old.txt") is None
    assert read(repo, "ckpt/a.txt") is None and read(repo, "ckpt/sub/b.txt") is None
    assert read(repo, "keep.txt") == b"k"


def test_parent_commit_prefix_accepted(repo, alice):
    current = head(repo)
    result = commit(repo, alice, [AddFile("a.txt", b"a")], parent_commit=current[:7].upper())
    assert git_repo(repo).commit_info(result.sha).parents == [current]


def test_side_effects_run_after_transaction(repo, alice, django_capture_on_commit_callbacks):
    seen = []

    def subscriber(event):
        seen.extend((c.ref, c.new) for c in event.changes)

    events.subscribe(subscriber)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            result = commit(repo, alice, [AddFile("a.txt", b"a")])
            assert seen == []  # not before the transaction commits
        for callback in callbacks:
            callback()
    finally:
        events.unsubscribe(subscriber)
    assert seen == [("refs/heads/main", result.sha)]


# ---------------------------------------------------------------------- bad input: nothing moves


def _rejected(repo, alice, ops, error, **kw):
    before = head(repo)
    with pytest.raises(error) as info:
        commit(repo, alice, ops, **kw)
    assert head(repo) == before
    return info.value


@pytest.mark.parametrize("path", ["../x", "a/../../x", "//etc/passwd", "a\0b", ".git/config", "a/.GIT/x",
                                  "dir/", ""])
def test_invalid_paths_are_422(repo, alice, path):
    err = _rejected(repo, alice, [AddFile("fine.txt", b"ok"), AddFile(path, b"x")], exc.Unprocessable)
    assert err.status == 422


def test_invalid_delete_path_is_422(repo, alice):
    _rejected(repo, alice, [DeleteFile("../.gitattributes")], exc.Unprocessable)


def test_lfs_object_never_uploaded(repo, alice):
    oid = hashlib.sha256(b"never").hexdigest()
    err = _rejected(repo, alice, [AddLfsFile("m.bin", oid, 5)], exc.Unprocessable)
    assert "LFS pointer pointed to a file that does not exist" in err.message


def test_lfs_object_of_another_repo_is_not_usable(repo, alice):
    other = RepositoryFactory(owner=alice, name=f"{repo.name}-other")
    oid = LfsObjectFactory(repo=other, data=b"secret weights").oid
    _rejected(repo, alice, [AddLfsFile("m.bin", oid, 14)], exc.Unprocessable)


def test_lfs_wrong_size(repo, alice):
    oid = LfsObjectFactory(repo=repo, data=b"12345").oid
    err = _rejected(repo, alice, [AddLfsFile("m.bin", oid, 6)], exc.Unprocessable)
    assert "Size mismatch" in err.message


def test_lfs_invalid_oid(repo, alice):
    _rejected(repo, alice, [AddLfsFile("m.bin", "../../etc/passwd", 5)], exc.BadRequest)


def test_delete_missing_file_is_entry_not_found(repo, alice):
    err = _rejected(repo, alice, [AddFile("a.txt", b"a"), DeleteFile("missing.txt")], exc.EntryNotFound)
    assert err.code == "EntryNotFound" and "A file with this name doesn't exist" in err.message


def test_stale_parent_commit_is_412(repo, alice):
    old = head(repo)
    commit(repo, alice, [AddFile("a.txt", b"a")])
    err = _rejected(repo, alice, [AddFile("b.txt", b"b")], exc.PreconditionFailed, parent_commit=old)
    assert err.status == 412
    assert err.message == "The branch was updated since you opened this page. Please refresh and try again."


def test_malformed_parent_commit(repo, alice):
    _rejected(repo, alice, [AddFile("b.txt", b"b")], exc.BadRequest, parent_commit="not-hex")


def test_oversize_regular_file(repo, alice):
    err = _rejected(repo, alice, [AddFile("big.txt", b"a" * (10 * 1024 * 1024 + 1))], exc.BadRequest)
    assert "larger than 10 MiB" in err.message


def test_binary_regular_file_over_1mib(repo, alice):
    _rejected(repo, alice, [AddFile("blob.dat", b"\0" * (1024 * 1024 + 1))], exc.BadRequest)


def test_total_regular_content_cap(repo, alice, settings):
    settings.HUB_COMMIT_MAX_REGULAR_BYTES = 10
    _rejected(repo, alice, [AddFile("a.txt", b"123456"), AddFile("b.txt", b"123456")], exc.PayloadTooLarge)


@pytest.mark.parametrize("revision", ["0" * 40, "missing-branch", "--upload-pack=touch /tmp/x", "main..x",
                                      "refs/heads/", "refs/tags/v1", "HEAD", "v1"])
def test_unusable_revisions(repo, alice, revision):
    _rejected(repo, alice, [AddFile("a.txt", b"a")], exc.RevisionNotFound, revision=revision)


def test_commit_to_tag_is_revision_not_found(repo, alice):
    from repos.services.refs import tag_create

    tag_create(repo=repo, user=alice, revision="main", tag="v1")
    _rejected(repo, alice, [AddFile("a.txt", b"a")], exc.RevisionNotFound, revision="v1")
    _rejected(repo, alice, [AddFile("a.txt", b"a")], exc.RevisionNotFound, revision="refs/tags/v1")


def test_full_branch_ref_is_accepted(repo, alice):
    result = commit(repo, alice, [AddFile("a.txt", b"a")], revision="refs/heads/main")
    assert result.ref == "refs/heads/main" and head(repo) == result.sha


def test_commit_to_existing_sha_is_revision_not_found(repo, alice):
    _rejected(repo, alice, [AddFile("a.txt", b"a")], exc.RevisionNotFound, revision=head(repo))


def test_error_raised_mid_stream_aborts(repo, alice):
    def ops():
        yield AddFile("a.txt", b"a")
        raise exc.BadRequest("Line 3 of the commit payload is not valid JSON")

    _rejected(repo, alice, ops(), exc.BadRequest)


def test_busy_repository_is_409(repo, alice, settings):
    from repos.git.lock import repo_lock

    settings.HUB_REPO_LOCK_TIMEOUT = 0.1
    locked, release = threading.Event(), threading.Event()

    def holder():
        with repo_lock(repo.git_dir, 5):
            locked.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert locked.wait(5)
        err = _rejected(repo, alice, [AddFile("a.txt", b"a")], exc.RepoBusy)
        assert err.status == 409
    finally:
        release.set()
        thread.join(10)


# ---------------------------------------------------------------------- pull requests


def test_create_pr_opens_draft_with_pr_ref(repo, alice):
    base = head(repo)
    result = commit(repo, alice, [AddFile("pr.txt", b"proposal")], create_pr=True, summary="Propose")
    pr = result.pull_request
    assert pr is not None and pr.num == 1 and pr.is_pull_request
    assert pr.status == Discussion.Status.DRAFT and pr.target_branch == "main" and pr.title == "Propose"
    assert result.ref == "refs/pr/1" and head(repo, "refs/pr/1") == result.sha
    assert git_repo(repo).commit_info(result.sha).parents == [base]
    assert head(repo) == base  # main untouched
    assert read(repo, "pr.txt", "refs/pr/1") == b"proposal" and read(repo, "pr.txt") is None
    second = commit(repo, alice, [AddFile("two.txt", b"2")], create_pr=True)
    assert second.pull_request.num == 2


def test_create_pr_based_on_parent_commit(repo, alice):
    old = head(repo)
    commit(repo, alice, [AddFile("a.txt", b"a")])
    result = commit(repo, alice, [AddFile("b.txt", b"b")], create_pr=True, parent_commit=old)
    assert git_repo(repo).commit_info(result.sha).parents == [old]


def test_create_pr_against_missing_branch_or_sha(repo, alice):
    _rejected(repo, alice, [AddFile("a.txt", b"a")], exc.RevisionNotFound, create_pr=True, revision="nope")
    _rejected(repo, alice, [AddFile("a.txt", b"a")], exc.RevisionNotFound, create_pr=True, revision=head(repo))
    assert not Discussion.objects.filter(repository=repo).exists()


def test_failed_create_pr_leaves_no_pr(repo, alice):
    _rejected(repo, alice, [DeleteFile("missing.txt")], exc.EntryNotFound, create_pr=True)
    assert not Discussion.objects.filter(repository=repo).exists()
    assert "refs/pr/1" not in git_repo(repo).refs("refs/pr/")


def test_commit_on_existing_pr_ref(repo, alice):
    first = commit(repo, alice, [AddFile("a.txt", b"a")], create_pr=True)
    second = commit(repo, alice, [AddFile("b.txt", b"b")], revision="refs/pr/1", parent_commit=first.sha)
    assert head(repo, "refs/pr/1") == second.sha
    assert git_repo(repo).commit_info(second.sha).parents == [first.sha]
    assert read(repo, "b.txt", "refs/pr/1") == b"b"


# ---------------------------------------------------------------------- concurrency


def _race(repo_id: int, user, count: int, parent: str | None) -> tuple[list[str], list[Exception]]:
    from django.db import connection

    barrier = threading.Barrier(count)
    results: list[str] = []
    errors: list[Exception] = []
    guard = threading.Lock()

    def worker(i: int) -> None:
        try:
            repo = Repository.objects.get(pk=repo_id)
            barrier.wait(10)
            result = commit(repo, user, [AddFile(f"file-{i}.txt", str(i).encode())], parent_commit=parent)
            with guard:
                results.append(result.sha)
        except Exception as error:  # collected and asserted on below
            with guard:
                errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results, errors


@pytest.mark.django_db(transaction=True)
def test_race_with_same_parent_commit_one_wins(alice):
    repo = RepositoryFactory(owner=alice, name="race-parent")
    parent = head(repo)
    results, errors = _race(repo.pk, alice, 4, parent)
    assert len(results) == 1, errors
    assert len(errors) == 3 and all(isinstance(e, exc.PreconditionFailed) for e in errors), errors
    assert head(repo) == results[0]
    assert git_repo(repo).commit_info(results[0]).parents == [parent]


@pytest.mark.django_db(transaction=True)
def test_race_without_parent_commit_all_land(alice):
    repo = RepositoryFactory(owner=alice, name="race-free")
    results, errors = _race(repo.pk, alice, 4, None)
    assert errors == [] and len(results) == 4
    git = git_repo(repo)
    history = {c.sha for c in git.log(head(repo), limit=10)}
    assert set(results) <= history
    files = {e.path for e in git.iter_files(head(repo))}
    assert {f"file-{i}.txt" for i in range(4)} <= files
    repo.refresh_from_db()
    assert repo.head_sha == head(repo)
