"""`repos.policy.push`: the one set of write rules, asked by `git push` and by the API, against real
repositories and the database (no server, no network).

The first half exercises the shared functions directly (ref rules, LFS references, the blob scan of
a quarantined push); the second half makes the same change through both write paths and checks
that the same rule refuses it with the same reason. tests/repos/transport/test_git_push_policy.py
pushes with the real git client.
"""
from __future__ import annotations

import pytest

from hub import exceptions as exc
from repos.git.commit import PutFile, Signature, build_commit
from repos.git.hooks import RefUpdate
from repos.git.quarantine import QuarantinedPush
from repos.handles import git_repo
from repos.lfs.pointer import LfsPointer, format_pointer
from repos.models import Discussion
from repos.objects import link as lfs_object_link
from repos.policy import push as push_policy
from repos.policy import upload as upload_policy
from repos.policy.push import Rejection, check_push, format_rejections, lfs_pointer_rejections
from repos.services.commits import AddFile, AddLfsFile, CommitHeader, commit_create
from repos.services.refs import branch_delete
from tests.factories import LfsObjectFactory, RepositoryFactory, TokenFactory, UserFactory

MIB = 1024 * 1024
OVERSIZE_TEXT = b"0123456789abcdef\n" * (10 * MIB // 17 + 1)  # > 10 MiB, text: only the size rule applies


def _ref(repo, user, ref, *, token=None, deleting=False, ff=None, kind="commit", via_pr=False):
    return push_policy.ref_update_rejection(repo=repo, user=user, token=token, ref=ref, deleting=deleting,
                                            fast_forward=ff, target_kind=kind, via_pull_request=via_pr)


def _pr(repo, author, num, status):
    return Discussion.objects.create(repository=repo, num=num, title="t", author=author, is_pull_request=True,
                                     status=status, target_branch="main")


# ---------------------------------------------------------------------- the shared functions


@pytest.mark.django_db
def test_branch_and_tag_rules(repo, alice, bob):
    assert _ref(repo, alice, "refs/heads/main", ff=True) is None
    assert "Force-pushing to the default branch (main)" in _ref(repo, alice, "refs/heads/main", ff=False)
    assert "cannot be deleted" in _ref(repo, alice, "refs/heads/main", deleting=True, kind=None)
    assert _ref(repo, alice, "refs/heads/topic", ff=False) is None
    assert _ref(repo, alice, "refs/heads/topic", deleting=True, kind=None) is None
    assert "must point to a commit" in _ref(repo, alice, "refs/heads/topic", kind="blob")
    assert _ref(repo, alice, "refs/tags/v1", kind="tag") is None
    assert "must point to a commit or a tag" in _ref(repo, alice, "refs/tags/v1", kind="tree")
    assert "write access" in _ref(repo, bob, "refs/heads/topic")
    assert "write access" in _ref(repo, bob, "refs/tags/v1")


@pytest.mark.django_db
@pytest.mark.parametrize("ref, expected", [
    ("refs/heads/-x", "Invalid branch name"),
    ("refs/heads/HEAD", "Invalid branch name"),
    ("refs/tags/-v", "Invalid tag name"),
    ("refs/heads/a..b", "Invalid reference name"),
    ("HEAD", "Invalid reference name"),
    ("refs/x", "Invalid reference name"),
    ("refs/convert/parquet", "reserved"),
    ("refs/notes/commits", "only branches"),
    ("refs/pr/1", "reserved for pull requests"),
    ("refs/pr/01", "reserved for pull requests"),
])
def test_reserved_and_invalid_refs(repo, alice, ref, expected):
    assert expected in _ref(repo, alice, ref)


@pytest.mark.django_db
def test_pull_request_refs(repo, alice, bob):
    carol = UserFactory(username="carol")
    _pr(repo, bob, 1, Discussion.Status.OPEN)
    _pr(repo, bob, 2, Discussion.Status.MERGED)
    Discussion.objects.create(repository=repo, num=3, title="t", author=bob, is_pull_request=False)
    assert _ref(repo, bob, "refs/pr/1", ff=False) is None  # its author
    assert _ref(repo, alice, "refs/pr/1") is None  # a writer
    assert "Only the author" in _ref(repo, carol, "refs/pr/1")
    assert "cannot be deleted with git" in _ref(repo, bob, "refs/pr/1", deleting=True, kind=None)
    assert "reserved for pull requests" in _ref(repo, bob, "refs/pr/2")  # merged
    assert "reserved for pull requests" in _ref(repo, bob, "refs/pr/3")  # a discussion


@pytest.mark.django_db
def test_ref_rules_use_the_token_not_only_the_user(repo, alice):
    read_only = TokenFactory(user=alice, name="ro", role="read")
    assert _ref(repo, alice, "refs/heads/main", ff=True) is None
    assert _ref(repo, alice, "refs/heads/main", ff=True, token=read_only) == push_policy.NO_WRITE_ACCESS
    assert _ref(repo, alice, "refs/tags/v1", token=read_only) == push_policy.NO_WRITE_ACCESS


@pytest.mark.django_db
def test_pull_request_refs_through_the_pr_mechanism(repo, alice, bob):
    _pr(repo, bob, 1, Discussion.Status.DRAFT)
    _pr(repo, bob, 2, Discussion.Status.CLOSED)
    # The commit API adding to bob's draft PR, as bob or as a writer.
    assert _ref(repo, bob, "refs/pr/1", ff=True, via_pr=True) is None
    assert _ref(repo, alice, "refs/pr/1", ff=True, via_pr=True) is None
    # A closed PR takes no commits, whichever path; each path words it its own way.
    assert _ref(repo, bob, "refs/pr/2", via_pr=True) == "Pull request #2 is closed: it cannot receive commits"
    assert "refs/pr/2 is reserved for pull requests" in _ref(repo, bob, "refs/pr/2")
    assert "refs/pr/3 is reserved for pull requests" in _ref(repo, bob, "refs/pr/3", via_pr=True)
    # The PR mechanism writes PR refs only; asking otherwise is a bug in the caller.
    for ref in ("refs/heads/main", "refs/pr/01", "refs/convert/parquet"):
        with pytest.raises(ValueError):
            _ref(repo, alice, ref, via_pr=True)


def test_blob_lfs_pointer_is_strict():
    oid = "a" * 64
    assert push_policy.blob_lfs_pointer(format_pointer(oid, 5)) == LfsPointer(oid, 5)
    assert push_policy.blob_lfs_pointer(format_pointer(oid, 5).replace(b"\n", b"\r\n")) is None
    assert push_policy.blob_lfs_pointer(format_pointer(oid, 5) + b" " * 1024) is None  # git-lfs' cutoff
    assert push_policy.blob_lfs_pointer(b"hello") is None


def test_blob_rejection():
    assert push_policy.blob_rejection(path="a.txt", size=10, sample=b"text") is None
    assert push_policy.blob_rejection(path="big.txt", size=10 * MIB + 1, sample=b"") == upload_policy.TOO_LARGE_MESSAGE
    assert push_policy.blob_rejection(path="w.bin", size=MIB + 1, sample=b"\0" * 512) == upload_policy.BINARY_MESSAGE
    assert push_policy.blob_rejection(path="w.bin", size=MIB, sample=b"\0" * 512) is None


@pytest.mark.django_db
def test_lfs_reference_check(repo, alice):
    mine = LfsObjectFactory(repo=repo, data=b"mine" * 10).oid
    other_repo = RepositoryFactory(owner=alice, name=f"{repo.name}-o")
    theirs = LfsObjectFactory(repo=other_repo, data=b"theirs").oid
    check = push_policy.lfs_reference_check(repo=repo, references=[
        ("a.bin", mine, 40),
        ("copy.bin", mine, None),  # a copy: the stored size is used
        ("b.bin", theirs, 6),  # in the store, but not uploaded to this repository
        ("c.bin", mine, 41),
        ("d.bin", "e" * 64, upload_policy.MAX_LFS_FILE_SIZE + 1),
    ])
    assert check.pointers[:2] == [LfsPointer(mine, 40), LfsPointer(mine, 40)]
    assert check.pointers[2:] == [None, None, None]
    assert check.rejections == [
        ("b.bin", upload_policy.MISSING_LFS_OBJECT_MESSAGE),
        ("c.bin", "Size mismatch: an LFS pointer says 41 bytes but the uploaded object has 40 bytes."),
        ("d.bin", upload_policy.LFS_TOO_LARGE_MESSAGE),
    ]
    lfs_object_link(repo=repo, oid=theirs, size=6)
    assert push_policy.lfs_pointer_rejections(repo=repo, pointers=[("b.bin", LfsPointer(theirs, 6))]) == []


@pytest.mark.django_db
def test_lfs_pointers_need_objects_uploaded_to_this_repo(repo, alice):
    other = RepositoryFactory(owner=alice, name="other")
    data = b"weights" * 100
    oid = LfsObjectFactory(repo=other, data=data).oid
    pointer = LfsPointer(oid=oid, size=len(data))
    (problem,) = lfs_pointer_rejections(repo=repo, pointers=[("w.bin", pointer)])
    assert problem == ("w.bin", upload_policy.MISSING_LFS_OBJECT_MESSAGE)
    lfs_object_link(repo=repo, oid=oid, size=len(data))
    assert lfs_pointer_rejections(repo=repo, pointers=[("w.bin", pointer)]) == []
    wrong_size = LfsPointer(oid=oid, size=len(data) + 1)
    assert lfs_pointer_rejections(repo=repo, pointers=[("w.bin", wrong_size)])
    huge = LfsPointer(oid="c" * 64, size=upload_policy.MAX_LFS_FILE_SIZE + 1)
    assert lfs_pointer_rejections(repo=repo, pointers=[("h.bin", huge)])[0][1] == upload_policy.LFS_TOO_LARGE_MESSAGE


@pytest.mark.django_db
def test_check_push_scans_only_new_blobs(repo, alice):
    """A commit written to the object database (as a push would) checked like a push."""
    git = git_repo(repo)
    head = git.resolve("main")
    big = b"x" * (upload_policy.MAX_REGULAR_FILE_SIZE + 1)
    pointer = format_pointer("d" * 64, 10)
    sha = build_commit(git, parent=head, ops=[PutFile("ok.txt", b"fine\n"), PutFile("big.txt", big),
                                              PutFile("p.bin", pointer)],
                       author=Signature("a", "a@x"), message="m")
    push = QuarantinedPush(git.path, {})
    rejections = check_push(repo=repo, user=alice, token=None, push=push,
                            updates=[RefUpdate(ref="refs/heads/main", old=head, new=sha)])
    assert sorted((r.path, r.reason) for r in rejections) == sorted([
        ("big.txt", upload_policy.TOO_LARGE_MESSAGE),
        ("p.bin", upload_policy.MISSING_LFS_OBJECT_MESSAGE),
    ])
    message = format_rejections(rejections)
    assert "- big.txt (ref: refs/heads/main)" in message and "- p.bin (ref: refs/heads/main)" in message

    # Ref problems are reported without scanning any object.
    rejections = check_push(repo=repo, user=alice, token=None, push=push,
                            updates=[RefUpdate(ref="refs/convert/x", old=None, new=sha)])
    assert [r.path for r in rejections] == [None]
    assert "Your push was rejected:\n  - refs/convert/x:" in format_rejections(rejections)


def test_format_rejections_groups_by_reason():
    message = format_rejections([Rejection("r1", "refs/heads/a"), Rejection("r2", "refs/heads/b"),
                                 Rejection(upload_policy.TOO_LARGE_MESSAGE, "refs/heads/a", "x.bin"),
                                 Rejection(upload_policy.TOO_LARGE_MESSAGE, "refs/heads/a", "y.bin")])
    assert message.count("Offending files:") == 1
    assert "  - refs/heads/a: r1\n  - refs/heads/b: r2\n" in message



# ---------------------------------------------------------------------- both paths, same rule


def _pushed(repo, user, files: dict[str, bytes], *, ref="refs/heads/main", delete=False):
    """`check_push` (the pre-receive hook's policy) on a commit of `files` on top of main."""
    git = git_repo(repo)
    head = git.resolve("main")
    new = None
    if not delete:
        new = build_commit(git, parent=head, ops=[PutFile(p, d) for p, d in files.items()],
                           author=Signature("t", "t@x"), message="m")
    return push_policy.check_push(repo=repo, user=user, token=None, push=QuarantinedPush(git.path, {}),
                                  updates=[RefUpdate(ref=ref, old=head, new=new)])


def _committed(repo, user, ops):
    git = git_repo(repo)
    before = git.resolve("main")
    with pytest.raises(exc.HubError) as info:
        commit_create(repo=repo, user=user, revision="main", header=CommitHeader(summary="s"), operations=ops)
    assert git.resolve("main") == before
    return info.value


@pytest.mark.django_db
def test_oversize_and_binary_plain_files_same_reason_on_both_paths(repo, alice):
    for path, data, reason, status in [
        ("huge.txt", OVERSIZE_TEXT, upload_policy.TOO_LARGE_MESSAGE, 400),
        ("w.dat", b"\0" * (MIB + 1), upload_policy.BINARY_MESSAGE, 400),
    ]:
        (pushed,) = _pushed(repo, alice, {path: data})
        assert (pushed.path, pushed.reason) == (path, reason)
        err = _committed(repo, alice, [AddFile(path, data)])
        assert err.status == status and err.message == f"{reason} Offending file: {path}"


@pytest.mark.django_db
def test_lfs_pointer_without_object_same_reason_on_both_paths(repo, alice):
    oid = "b" * 64
    pointer = format_pointer(oid, 7)
    (pushed,) = _pushed(repo, alice, {"m.bin": pointer})
    assert (pushed.path, pushed.reason) == ("m.bin", upload_policy.MISSING_LFS_OBJECT_MESSAGE)
    expected = f"{upload_policy.MISSING_LFS_OBJECT_MESSAGE} Offending file: - m.bin"
    # As an lfsFile operation, and as pointer text sent as a plain file (what a push holds).
    for op in (AddLfsFile("m.bin", oid, 7), AddFile("m.bin", pointer)):
        err = _committed(repo, alice, [op])
        assert err.status == 422 and err.message == expected
    # Once uploaded here, both paths accept the very same pointer.
    real = LfsObjectFactory(repo=repo, data=b"weights").oid
    assert _pushed(repo, alice, {"m.bin": format_pointer(real, 7)}) == []
    result = commit_create(repo=repo, user=alice, revision="main", header=CommitHeader(summary="s"),
                           operations=[AddFile("m.bin", format_pointer(real, 7))])
    git = git_repo(repo)
    assert git.read_blob(git.get_entry(result.sha, "m.bin").oid) == format_pointer(real, 7)


@pytest.mark.django_db
def test_protected_default_branch_same_reason_on_both_paths(repo, alice):
    (pushed,) = _pushed(repo, alice, {}, delete=True)
    reason = "The default branch (main) cannot be deleted."
    assert (pushed.ref, pushed.reason) == ("refs/heads/main", reason)
    with pytest.raises(exc.Forbidden) as info:
        branch_delete(repo=repo, user=alice, branch="main")
    assert info.value.message == reason
    assert git_repo(repo).resolve("main")


@pytest.mark.django_db
def test_write_access_same_reason_on_both_paths(repo, bob):
    (pushed,) = _pushed(repo, bob, {"a.txt": b"a"})
    assert pushed.reason == push_policy.NO_WRITE_ACCESS
    err = _committed(repo, bob, [AddFile("a.txt", b"a")])  # a caller that forgot to authorize
    assert err.status == 403 and err.message == push_policy.NO_WRITE_ACCESS


@pytest.mark.django_db
def test_commit_api_on_closed_pr_is_refused_by_the_policy(repo, alice):
    opened = commit_create(repo=repo, user=alice, revision="main", header=CommitHeader(summary="p"),
                           operations=[AddFile("p.txt", b"p")], create_pr=True)
    assert opened.ref == "refs/pr/1" and git_repo(repo).resolve("refs/pr/1") == opened.sha
    Discussion.objects.filter(pk=opened.pull_request.pk).update(status=Discussion.Status.CLOSED)
    with pytest.raises(exc.Forbidden) as info:
        commit_create(repo=repo, user=alice, revision="refs/pr/1", header=CommitHeader(summary="q"),
                      operations=[AddFile("q.txt", b"q")])
    assert info.value.message == "Pull request #1 is closed: it cannot receive commits"
    assert git_repo(repo).resolve("refs/pr/1") == opened.sha
