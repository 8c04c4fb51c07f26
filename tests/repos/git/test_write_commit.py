"""`write_commit`: commits go through the object database, so a failed write raises.

pygit2 1.21's `Repository.create_commit` returns the id of a commit it could not write (a
full disk: tests/ops/test_disk_full.py shows it) without an error; `write_commit` writes
the same bytes and gets the same id, or the write's OSError.
"""
from __future__ import annotations

import time

import pygit2

from repos.git.commit import write_commit
from repos.git.objects import squash_ref
from tests.repos.git.conftest import AUTHOR


def test_write_commit_is_create_commit_with_errors(seeded):
    repo, sha = seeded
    raw = repo.raw
    tree = raw[pygit2.Oid(hex=sha)].peel(pygit2.Commit).tree_id
    sig = pygit2.Signature("Alice", "alice@example.com", int(time.time()), 60)
    expected = raw.create_commit(None, sig, sig, "same message\n", tree, [pygit2.Oid(hex=sha)])
    written = write_commit(raw, author=sig, committer=sig, message="same message\n", tree=tree,
                           parents=[pygit2.Oid(hex=sha)])
    assert written == expected and written in raw


def test_squash_writes_a_readable_commit(seeded, git):
    repo, sha = seeded
    new = squash_ref(repo, ref="refs/heads/main", author=AUTHOR, message="squashed")
    assert new != sha and pygit2.Oid(hex=new) in repo.raw
    assert git("cat-file", "-t", new).strip() == "commit"
    assert git("fsck", "--strict", "--no-dangling") == ""
