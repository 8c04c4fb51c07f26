"""`repos.policy.push` against real repositories and the database (no server, no network)."""
from __future__ import annotations

import hashlib

import pytest

from repos.git.commit import PutFile, Signature, build_commit
from repos.git.hooks import RefUpdate
from repos.git.quarantine import QuarantinedPush
from repos.handles import git_repo
from repos.lfs.pointer import LfsPointer, format_pointer
from repos.models import Discussion
from repos.objects import link as lfs_object_link
from repos.objects import storage_backend
from repos.policy import upload as upload_policy
from repos.policy.push import Rejection, check_push, format_rejections, lfs_pointer_rejections, ref_update_rejection
from repos.services.repos import repo_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def repo(alice):
    return repo_create(user=alice, namespace="alice", name="policy")


def _rejection(repo, user, ref, *, deleting=False, ff=None, kind="commit"):
    return ref_update_rejection(repo=repo, user=user, token=None, ref=ref, deleting=deleting, fast_forward=ff,
                                target_kind=kind)


def test_branch_and_tag_rules(repo, alice, bob):
    assert _rejection(repo, alice, "refs/heads/main", ff=True) is None
    assert "Force-pushing to the default branch (main)" in _rejection(repo, alice, "refs/heads/main", ff=False)
    assert "cannot be deleted" in _rejection(repo, alice, "refs/heads/main", deleting=True, kind=None)
    assert _rejection(repo, alice, "refs/heads/topic", ff=False) is None
    assert _rejection(repo, alice, "refs/heads/topic", deleting=True, kind=None) is None
    assert "must point to a commit" in _rejection(repo, alice, "refs/heads/topic", kind="blob")
    assert _rejection(repo, alice, "refs/tags/v1", kind="tag") is None
    assert "must point to a commit or a tag" in _rejection(repo, alice, "refs/tags/v1", kind="tree")
    assert "write access" in _rejection(repo, bob, "refs/heads/topic")
    assert "write access" in _rejection(repo, bob, "refs/tags/v1")


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
    assert expected in _rejection(repo, alice, ref)


def test_pull_request_refs(repo, alice, bob, db):
    from accounts.services.users import user_create

    carol = user_create(username="carol", password="carol-password-1")
    Discussion.objects.create(repository=repo, num=1, title="t", author=bob, is_pull_request=True,
                              status="open", target_branch="main")
    Discussion.objects.create(repository=repo, num=2, title="t", author=bob, is_pull_request=True,
                              status="merged", target_branch="main")
    Discussion.objects.create(repository=repo, num=3, title="t", author=bob, is_pull_request=False)
    assert _rejection(repo, bob, "refs/pr/1", ff=False) is None  # its author
    assert _rejection(repo, alice, "refs/pr/1") is None  # a writer
    assert "Only the author" in _rejection(repo, carol, "refs/pr/1")
    assert "cannot be deleted with git" in _rejection(repo, bob, "refs/pr/1", deleting=True, kind=None)
    assert "reserved for pull requests" in _rejection(repo, bob, "refs/pr/2")  # merged
    assert "reserved for pull requests" in _rejection(repo, bob, "refs/pr/3")  # a discussion


def test_lfs_pointers_need_objects_uploaded_to_this_repo(repo, alice):
    other = repo_create(user=alice, namespace="alice", name="other")
    data = b"weights" * 100
    oid = hashlib.sha256(data).hexdigest()
    storage_backend().write_stream(oid, len(data), [data])
    lfs_object_link(repo=other, oid=oid, size=len(data))
    pointer = LfsPointer(oid=oid, size=len(data))
    (problem,) = lfs_pointer_rejections(repo=repo, pointers=[("w.bin", pointer)])
    assert problem == ("w.bin", upload_policy.MISSING_LFS_OBJECT_MESSAGE)
    lfs_object_link(repo=repo, oid=oid, size=len(data))
    assert lfs_pointer_rejections(repo=repo, pointers=[("w.bin", pointer)]) == []
    wrong_size = LfsPointer(oid=oid, size=len(data) + 1)
    assert lfs_pointer_rejections(repo=repo, pointers=[("w.bin", wrong_size)])
    huge = LfsPointer(oid="c" * 64, size=upload_policy.MAX_LFS_FILE_SIZE + 1)
    assert lfs_pointer_rejections(repo=repo, pointers=[("h.bin", huge)])[0][1] == upload_policy.LFS_TOO_LARGE_MESSAGE


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
