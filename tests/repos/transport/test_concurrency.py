"""Concurrent writers on one branch: git pushers and API committers racing for a bounded time.

Every write acknowledged to its client must be in the final history, every refused one must
have been reported (and be absent), the repository must stay consistent (`git fsck`), and
nothing (quarantine, lock files) may be left behind.
"""
from __future__ import annotations

import base64
import json
import random
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

import pytest

from tests.repos.git_client import leftovers, provision, remote_url, requires_git, run_git, server_refs, unique

pytestmark = [pytest.mark.live, requires_git]

GIT_PUSHERS = 14
API_COMMITTERS = 6
DURATION = 10.0


@dataclass
class Log:
    acked: list[tuple[str, str]] = field(default_factory=list)  # (client, sha)
    refused: list[tuple[str, str, str]] = field(default_factory=list)  # (client, sha, message)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _git_pusher(n: int, clone, env, deadline: float, start: threading.Barrier, log: Log) -> None:
    start.wait()
    i = 0
    while time.monotonic() < deadline:
        i += 1
        (clone / f"g{n}-{i}.txt").write_text(f"{n} {i}\n")
        run_git("add", "-A", cwd=clone, env=env)
        run_git("commit", "-q", "-m", f"git {n}.{i}", cwd=clone, env=env)
        sha = run_git("rev-parse", "HEAD", cwd=clone, env=env).stdout.strip()
        res = run_git("push", "origin", "main", cwd=clone, env=env, check=False, timeout=90)
        with log.lock:
            if res.returncode == 0:
                log.acked.append((f"git{n}", sha))
            else:
                log.refused.append((f"git{n}", sha, res.stderr))
        if res.returncode != 0:
            # Drop the refused commit (it must never show up) and start again from the tip.
            run_git("fetch", "-q", "origin", cwd=clone, env=env)
            run_git("reset", "-q", "--hard", "origin/main", cwd=clone, env=env)


def _api_committer(n: int, live_hub, repo, token: str, deadline: float, start: threading.Barrier, log: Log) -> None:
    start.wait()
    i = 0
    while time.monotonic() < deadline:
        i += 1
        lines = [
            {"key": "header", "value": {"summary": f"api {n}.{i}", "description": ""}},
            {"key": "file", "value": {"path": f"api/a{n}-{i}.txt", "encoding": "base64",
                                      "content": base64.b64encode(f"{n} {i}\n".encode()).decode()}},
        ]
        req = urllib.request.Request(
            f"{live_hub.url}/api/models/{repo.repo_id}/commit/main", method="POST",
            data="\n".join(json.dumps(line) for line in lines).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"})
        try:
            with urllib.request.urlopen(req, timeout=90) as resp:
                sha = json.loads(resp.read())["commitOid"]
            with log.lock:
                log.acked.append((f"api{n}", sha))
        except urllib.error.HTTPError as err:
            with log.lock:
                log.refused.append((f"api{n}", "", f"{err.code} {err.read()[:200]!r}"))
        # API commits never conflict (no parentCommit): unthrottled they would move the branch
        # so often that no git push (fetch, commit, push: ~0.5 s) could ever win a round.
        time.sleep(random.uniform(4.0, 8.0))


def test_twenty_concurrent_writers_lose_nothing(live_hub, git_env, tmp_path):
    name = unique("race")
    setup = provision(live_hub, users=["gh_alice"], repos=[("gh_alice", name, False, "model")])
    token, repo = setup.tokens["gh_alice"], setup.repos[f"gh_alice/{name}"]
    url = remote_url(live_hub, repo, token)

    clones = []
    for n in range(GIT_PUSHERS):
        clone = tmp_path / f"c{n}"
        run_git("clone", "-q", url, str(clone), env=git_env)
        clones.append(clone)

    log = Log()
    start = threading.Barrier(GIT_PUSHERS + API_COMMITTERS)
    deadline = time.monotonic() + DURATION + 5  # + time for everyone to reach the barrier

    def guarded(fn, *args):
        try:
            fn(*args)
        except Exception as exc:  # a crashed worker thread must fail the test, not hang it
            with log.lock:
                log.errors.append(f"{fn.__name__}{args[0]}: {exc!r}")
            start.abort()

    threads = [threading.Thread(target=guarded, args=(_git_pusher, n, clones[n], git_env, deadline, start, log))
               for n in range(GIT_PUSHERS)]
    threads += [threading.Thread(target=guarded, args=(_api_committer, n, live_hub, repo, token, deadline, start,
                                                       log))
                for n in range(API_COMMITTERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=DURATION + 200)
    assert not any(t.is_alive() for t in threads), "a writer did not finish in time"
    assert log.errors == []

    git_dir = ["--git-dir", str(repo.git_dir)]
    tip = server_refs(repo)["refs/heads/main"]
    history = set(run_git(*git_dir, "rev-list", tip).stdout.split())
    git_acks = [sha for client, sha in log.acked if client.startswith("git")]
    api_acks = [sha for client, sha in log.acked if client.startswith("api")]
    print("acks git/api:", len(git_acks), len(api_acks), "refused:", len(log.refused),
          "server-side:", sum("remote:" in m for _c, _s, m in log.refused))
    assert git_acks and api_acks, (len(git_acks), len(api_acks), log.refused[:3])
    # Every acknowledged write is in the final history...
    missing = [(client, sha) for client, sha in log.acked if sha not in history]
    assert missing == []
    # ... every refused one was told so, and is not.
    assert all(message for _c, _s, message in log.refused)
    assert not [sha for _c, sha, _m in log.refused if sha and sha in history]
    # Nothing else sneaked in: history = initial commit + exactly the acknowledged writes.
    assert len(history) == 1 + len(log.acked)
    # Refusals of git pushes are the readable kind (moved ref / non-fast-forward / busy).
    for _client, sha, message in log.refused:
        if sha:
            assert "rejected" in message, message

    fsck = run_git(*git_dir, "fsck", "--full", "--strict", "--no-dangling", check=False)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    assert leftovers(repo) == []
    # The database index follows git.
    with urllib.request.urlopen(f"{live_hub.url}/api/models/{repo.repo_id}", timeout=30) as resp:
        assert json.loads(resp.read())["sha"] == tip
