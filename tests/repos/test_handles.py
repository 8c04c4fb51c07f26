"""`git_repo_for_read`: a per-thread handle reused across requests must still see what other
processes do to the repository (new commits, ref moves, `git gc` replacing packs)."""
from __future__ import annotations

import os
import subprocess
import threading

import pytest

from repos.handles import git_read_handles_clear, git_repo_for_read
from tests.factories import CONFIG, seeded_model

pytestmark = pytest.mark.django_db

GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "other", "GIT_AUTHOR_EMAIL": "o@example.com",
           "GIT_COMMITTER_NAME": "other", "GIT_COMMITTER_EMAIL": "o@example.com", "GIT_CONFIG_NOSYSTEM": "1"}


def git(git_dir, *args: str, stdin: bytes | None = None) -> str:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], input=stdin, env=GIT_ENV, check=True,
                          capture_output=True, timeout=30).stdout.decode().strip()


def commit_from_outside(git_dir, path: str, data: bytes) -> str:
    """A commit on main made by another process (the git CLI), as a push would."""
    blob = git(git_dir, "hash-object", "-w", "--stdin", stdin=data)
    env = {**GIT_ENV, "GIT_INDEX_FILE": f"{git_dir}/other-index"}

    def run(*args: str) -> str:
        return subprocess.run(["git", f"--git-dir={git_dir}", *args], env=env, check=True, capture_output=True,
                              timeout=30).stdout.decode().strip()

    run("read-tree", "main")
    run("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}")
    tree = run("write-tree")
    sha = run("commit-tree", tree, "-p", "main", "-m", "from outside")
    run("update-ref", "refs/heads/main", sha)
    os.unlink(f"{git_dir}/other-index")
    return sha


@pytest.fixture(autouse=True)
def _clear_handles():
    git_read_handles_clear()
    yield
    git_read_handles_clear()


def test_handle_reused_within_a_thread_not_across(alice, bob):
    repo = seeded_model(alice).repo
    other = seeded_model(bob).repo
    first = git_repo_for_read(repo)
    assert git_repo_for_read(repo) is first
    assert git_repo_for_read(other) is not first
    seen = []
    t = threading.Thread(target=lambda: seen.append(git_repo_for_read(repo)))
    t.start()
    t.join(10)
    assert seen and seen[0] is not first


def test_outside_commits_and_gc_are_seen_by_the_next_request(client, alice):
    seeded = seeded_model(alice)
    git_dir = seeded.repo.git_dir
    url = "/alice/tiny-bert/resolve/main/config.json"
    r = client.get(url)
    assert r.status_code == 200 and r["X-Repo-Commit"] == seeded.sha
    assert b"".join(r.streaming_content) == CONFIG

    sha1 = commit_from_outside(git_dir, "config.json", b'{"v": 1}\n')
    r = client.get(url)
    assert r["X-Repo-Commit"] == sha1
    assert b"".join(r.streaming_content) == b'{"v": 1}\n'

    # gc packs every object and deletes the loose ones the cached handle has seen.
    git(git_dir, "gc", "--prune=now", "--quiet")
    sha2 = commit_from_outside(git_dir, "config.json", b'{"v": 2}\n')
    git(git_dir, "repack", "-a", "-d", "--quiet")  # replaces the pack gc wrote
    git(git_dir, "prune-packed")
    r = client.get(url)
    assert r.status_code == 200 and r["X-Repo-Commit"] == sha2
    assert b"".join(r.streaming_content) == b'{"v": 2}\n'
    # Older commits stay readable by sha from the new pack.
    r = client.get(f"/alice/tiny-bert/resolve/{seeded.sha}/config.json")
    assert r.status_code == 200 and b"".join(r.streaming_content) == CONFIG

    tree = client.get("/api/models/alice/tiny-bert/tree/main")
    assert tree.status_code == 200
    info = client.get("/api/models/alice/tiny-bert")
    assert info.json()["sha"] == sha2
