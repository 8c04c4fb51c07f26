"""Pushes the policy refuses: the pusher reads why, and the repository is left exactly as it
was (no ref moved, no object kept, no quarantine or lock file behind)."""
from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from repos.policy import upload as upload_policy
from tests.repos.git_client import (
    client_git_env,
    create_repo,
    leftovers,
    provision,
    remote_url,
    requires_git,
    run_git,
    server_objects,
    server_refs,
    unique,
)

pytestmark = [pytest.mark.live, requires_git]


class Scenario:
    """A clone of one server repository and a snapshot to compare the server against."""

    def __init__(self, live_hub, repo, token, env, path: Path) -> None:
        self.live_hub, self.repo, self.env, self.path = live_hub, repo, env, path
        run_git("clone", "-q", remote_url(live_hub, repo, token), str(path), env=env)
        self.snapshot()

    def snapshot(self) -> None:
        self.refs = server_refs(self.repo)
        self.objects = server_objects(self.repo)

    def git(self, *args: str, check: bool = True):
        return run_git(*args, cwd=self.path, env=self.env, check=check)

    def commit(self, files: dict[str, bytes], message: str = "change") -> str:
        for name, data in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD").stdout.strip()

    def push_refused(self, *args: str) -> str:
        """Push, expect a refusal, check nothing changed server-side; return git's stderr."""
        res = self.git("push", *args, check=False)
        assert res.returncode != 0, res.stderr
        assert server_refs(self.repo) == self.refs
        assert server_objects(self.repo) == self.objects
        assert leftovers(self.repo) == []
        return res.stderr

    def reset(self) -> None:
        self.git("fetch", "-q", "origin")
        self.git("reset", "-q", "--hard", "origin/main")


N = {key: unique(key) for key in ("protected", "refs", "large", "lfs", "ro", "prs")}
# Two PRs by bob on the "prs" repo (one open, one closed), opened like the PR API does.
_OPEN_PRS = f"""
from repos.models import Discussion
from repos.git.commit import update_ref
from repos.handles import git_repo
r = Repository.objects.get(namespace="gh_alice", name="{N['prs']}")
bob = User.objects.get(username="gh_bob")
g = git_repo(r)
head = g.resolve("main")
for num, status in ((1, "open"), (2, "closed")):
    Discussion.objects.create(repository=r, num=num, title="t", author=bob, is_pull_request=True,
                              status=status, target_branch="main")
    update_ref(g, f"refs/pr/{{num}}", head, expected_old=None)
"""


@pytest.fixture(scope="module")
def hub(live_hub):
    return provision(live_hub, users=["gh_alice", "gh_bob", "gh_reader"],
                     repos=[("gh_alice", name, False, "model") for name in N.values()],
                     read_tokens=["gh_alice"], extra=_OPEN_PRS)


@pytest.fixture
def scenario(request, live_hub, hub, git_env, work):
    """A clone of this test's own repository, with one commit pushed on top of the initial one."""
    repo = hub.repos[f"gh_alice/{N[request.param]}"]
    s = Scenario(live_hub, repo, hub.tokens["gh_alice"], git_env, work / "clone")
    s.commit({"a.txt": b"a\n"}, "base")
    s.git("push", "-q", "origin", "main")
    s.snapshot()
    return s


@pytest.mark.parametrize("scenario", ["protected"], indirect=True)
def test_protected_default_branch(scenario):
    scenario.git("commit", "-q", "--amend", "-m", "rewritten")
    err = scenario.push_refused("--force", "origin", "main")
    assert "Force-pushing to the default branch (main) is not allowed" in err
    assert "pre-receive hook declined" in err
    scenario.reset()

    err = scenario.push_refused("origin", "--delete", "main")
    assert "The default branch (main) cannot be deleted" in err

    # Other branches may be force-pushed and deleted.
    scenario.git("push", "-q", "origin", "HEAD:refs/heads/topic")
    scenario.git("commit", "-q", "--amend", "-m", "rewritten topic")
    scenario.git("push", "-q", "--force", "origin", "HEAD:refs/heads/topic")
    scenario.git("push", "-q", "origin", "--delete", "topic")


@pytest.mark.parametrize("scenario", ["refs"], indirect=True)
def test_reserved_and_invalid_refs(scenario):
    scenario.commit({"b.txt": b"b\n"})
    err = scenario.push_refused("origin", "HEAD:refs/pr/1")
    assert "refs/pr/1 is reserved for pull requests" in err
    err = scenario.push_refused("origin", "HEAD:refs/convert/parquet")
    assert "refs/convert/parquet is reserved" in err
    err = scenario.push_refused("origin", "HEAD:refs/notes/x")
    assert "only branches (refs/heads/*) and tags (refs/tags/*) can be pushed" in err
    # git itself accepts these names; we do not (option-like, or shadowing HEAD).
    err = scenario.push_refused("origin", "HEAD:refs/heads/-bad")
    assert "Invalid branch name: '-bad'" in err
    err = scenario.push_refused("origin", "HEAD:refs/heads/HEAD")
    assert "Invalid branch name: 'HEAD'" in err
    err = scenario.push_refused("origin", "HEAD:refs/tags/-v1")
    assert "Invalid tag name" in err


@pytest.mark.parametrize("scenario", ["large"], indirect=True)
def test_large_and_binary_files_must_use_lfs(scenario):
    big = b"0123456789abcdef\n" * (11 * 1024 * 1024 // 17 + 1)  # > 10 MiB of text
    scenario.commit({"data/huge.txt": big})
    err = scenario.push_refused("origin", "main")
    assert "Your push was rejected because it contains files larger than 10 MiB" in err
    assert "Offending files:" in err
    assert "- data/huge.txt (ref: refs/heads/main)" in err
    scenario.reset()

    scenario.commit({"weights.dat": b"\x00\x01" + os.urandom(2 * 1024 * 1024)})
    err = scenario.push_refused("origin", "main")
    assert "binary files larger than 1 MiB" in err
    assert "- weights.dat (ref: refs/heads/main)" in err


@pytest.mark.parametrize("scenario", ["lfs"], indirect=True)
def test_lfs_pointer_without_its_object(scenario):
    # A pointer committed as a plain file (what `git push --no-verify` leads to): the object
    # was never uploaded, so the push is refused.
    oid = "a" * 64
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize 12345\n".encode()
    scenario.commit({"model.dat": pointer})
    err = scenario.push_refused("origin", "main")
    assert "an LFS pointer pointed to a file that does not exist" in err
    assert "- model.dat (ref: refs/heads/main)" in err


def test_read_only_access_cannot_push(live_hub, hub, git_env, work):
    setup, repo = hub, hub.repos[f"gh_alice/{N['ro']}"]

    # The owner's read-only token: refused before any pack is sent.
    s = Scenario(live_hub, repo, setup.read_tokens["gh_alice"], git_env, work / "ro")
    s.commit({"x.txt": b"x\n"})
    err = s.push_refused("origin", "main")
    assert "You don't have write access to this repository" in err

    # Someone who can read the (public) repo but not write it.
    r = Scenario(live_hub, repo, setup.tokens["gh_reader"], git_env, work / "reader")
    r.commit({"y.txt": b"y\n"})
    err = r.push_refused("origin", "main")
    assert "You don't have write access to this repository" in err
    err = r.push_refused("origin", "HEAD:refs/heads/new-branch")
    assert "You don't have write access to this repository" in err

    # Anonymous: git is asked for credentials (none here) and gives up.
    a = Scenario(live_hub, repo, None, git_env, work / "anon")
    a.commit({"z.txt": b"z\n"})
    err = a.push_refused("origin", "main")
    assert "could not read Username" in err or "Authentication failed" in err


def test_pull_request_refs(live_hub, hub, git_env, work):
    setup, repo = hub, hub.repos[f"gh_alice/{N['prs']}"]
    bob = Scenario(live_hub, repo, setup.tokens["gh_bob"], git_env, work / "bob")
    sha = bob.commit({"proposal.txt": b"please merge\n"})
    bob.git("push", "-q", "origin", "HEAD:refs/pr/1")
    assert server_refs(repo)["refs/pr/1"] == sha
    bob.snapshot()
    err = bob.push_refused("origin", "HEAD:refs/pr/2")
    assert "refs/pr/2 is reserved for pull requests" in err
    err = bob.push_refused("origin", "--delete", "refs/pr/1")
    assert "refs/pr/1 cannot be deleted with git" in err
    # bob is not a writer: his PR ref only.
    err = bob.push_refused("origin", "HEAD:refs/heads/main")
    assert "You don't have write access" in err

    # A writer may push to any open PR.
    alice = Scenario(live_hub, repo, setup.tokens["gh_alice"], git_env, work / "alice")
    alice.git("fetch", "-q", "origin", "refs/pr/1")
    alice.git("checkout", "-q", "FETCH_HEAD")
    sha2 = alice.commit({"review.txt": b"fixed\n"})
    alice.git("push", "-q", "origin", "HEAD:refs/pr/1")
    assert server_refs(repo)["refs/pr/1"] == sha2


# ---------------------------------------------------------------------- git push and the commit API

MIB = 1024 * 1024
OVERSIZE_TEXT = b"0123456789abcdef\n" * (10 * MIB // 17 + 1)  # > 10 MiB, text: only the size rule applies


def _remote_text(stderr: str) -> str:
    """git's `remote:` lines joined back into one text."""
    lines = [line[len("remote:"):].strip() for line in stderr.splitlines() if line.startswith("remote:")]
    return " ".join(line for line in lines if line)


def test_same_oversize_file_refused_by_git_push_and_by_commit_api(live_hub, tmp_path: Path):
    """The same rule, with the same reason, through both write paths of the live hub (the
    in-process version of this is tests/repos/policy/test_push.py)."""
    token = live_hub.create_user("pp_alice")
    hub_repo = create_repo(live_hub, "pp_alice")
    env = client_git_env(tmp_path / "home")
    work = tmp_path / "clone"
    run_git("clone", "-q", remote_url(live_hub, hub_repo, token), str(work), env=env)
    (work / "huge.txt").write_bytes(OVERSIZE_TEXT)
    run_git("add", "huge.txt", cwd=work, env=env)
    run_git("commit", "-q", "-m", "huge", cwd=work, env=env)
    before = server_refs(hub_repo)
    pushed = run_git("push", "origin", "main", cwd=work, env=env, check=False)
    assert pushed.returncode != 0
    reason = upload_policy.TOO_LARGE_MESSAGE
    assert reason in _remote_text(pushed.stderr)
    assert "- huge.txt (ref: refs/heads/main)" in pushed.stderr

    lines = [{"key": "header", "value": {"summary": "huge"}},
             {"key": "file", "value": {"path": "huge.txt", "encoding": "base64",
                                       "content": base64.b64encode(OVERSIZE_TEXT).decode()}}]
    body = "\n".join(json.dumps(line) for line in lines).encode()
    request = urllib.request.Request(f"{live_hub.url}/api/models/{hub_repo.repo_id}/commit/main", data=body,
                                     method="POST", headers={"Content-Type": "application/x-ndjson",
                                                             "Authorization": f"Bearer {token}"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=60)
    response = info.value
    assert response.code == 400
    assert json.loads(response.read())["error"] == f"{reason} Offending file: huge.txt"
    assert server_refs(hub_repo) == before
