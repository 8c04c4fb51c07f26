"""Every write path refuses a tree past the walk limits before the ref moves, with the same
words (API commits here; git pushes in tests/repos/transport/test_tree_bomb_live.py)."""
from __future__ import annotations

import pytest
from django.test import override_settings

from hub.exceptions import TreeTooLarge
from repos.git.hooks import RefUpdate
from repos.git.quarantine import QuarantinedPush
from repos.handles import git_repo
from repos.policy.push import check_push
from repos.services.commits import AddFile, CommitHeader, commit_create
from tests.repos.git.bombs import commit_tree, tree_bomb

pytestmark = pytest.mark.django_db


@override_settings(HUB_TREE_MAX_DEPTH=3)
def test_api_commit_past_the_depth_limit_is_refused(repo, alice):
    before = git_repo(repo).resolve("main")
    with pytest.raises(TreeTooLarge, match="nest 5 levels deep"):
        commit_create(repo=repo, user=alice, revision="main", header=CommitHeader(summary="deep"),
                      operations=[AddFile("a/b/c/d/e/f.txt", b"x")])
    assert git_repo(repo).resolve("main") == before
    commit_create(repo=repo, user=alice, revision="main", header=CommitHeader(summary="ok"),
                  operations=[AddFile("a/b/c.txt", b"x")])


@override_settings(HUB_TREE_MAX_ENTRIES=3)
def test_api_commit_past_the_folder_size_limit_is_refused(repo, alice):
    with pytest.raises(TreeTooLarge, match="entries"):
        commit_create(repo=repo, user=alice, revision="main", header=CommitHeader(summary="wide"),
                      operations=[AddFile(f"w/{i}.txt", b"x") for i in range(4)])


def test_check_push_refuses_a_tree_bomb_before_walking_it(repo, alice):
    git = git_repo(repo)
    head = git.resolve("main")
    bomb = commit_tree(git.raw, tree_bomb(git.raw, levels=9, fanout=10), parents=[head])
    push = QuarantinedPush(git.path, {})
    rejections = check_push(repo=repo, user=alice, token=None, push=push,
                            updates=[RefUpdate(ref="refs/heads/main", old=head, new=bomb)])
    assert len(rejections) == 1
    assert "file tree is too large to process" in rejections[0].reason and "paths" in rejections[0].reason
    assert bomb[:12] in rejections[0].reason
