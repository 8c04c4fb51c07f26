"""Pushes cut off mid-transfer - the client killed, or the server worker killed - leave the
repository unchanged and usable (git's quarantine; our hook bridge fails closed)."""
from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request

import pytest

from tests.repos.git_client import (
    leftovers,
    parent_pid,
    provision,
    receive_pack_pids,
    remote_url,
    requires_git,
    run_git,
    server_objects,
    server_refs,
    unique,
)

pytestmark = [pytest.mark.live, requires_git]


def _prepare(live_hub, git_env, work):
    name = unique("cut")
    setup = provision(live_hub, users=["gh_alice"], repos=[("gh_alice", name, False, "model")])
    token, repo = setup.tokens["gh_alice"], setup.repos[f"gh_alice/{name}"]
    clone = work / "clone"
    run_git("clone", "-q", remote_url(live_hub, repo, token), str(clone), env=git_env)
    # ~6 MB of text (hex) that compresses poorly: a few seconds through the slow proxy.
    (clone / "payload.txt").write_text(os.urandom(3 * 1024 * 1024).hex())
    run_git("add", "payload.txt", cwd=clone, env=git_env)
    run_git("commit", "-q", "-m", "payload", cwd=clone, env=git_env)
    return token, repo, clone


def _start_slow_push(live_hub, proxy, repo, token, clone, env) -> subprocess.Popen:
    url = remote_url(live_hub, repo, token).replace(f":{live_hub.port}/", f":{proxy.port}/")
    return subprocess.Popen(["git", "push", url, "main"], cwd=clone, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _assert_untouched_then_push(live_hub, repo, token, clone, env, refs, objects, *, killed: bool = False) -> None:
    _wait_for(lambda: not receive_pack_pids(repo.git_dir), 60, "receive-pack to exit")
    assert server_refs(repo) == refs
    assert server_objects(repo) == objects
    if killed:
        # git cannot clean up when it dies with its web worker: its quarantine stays (never
        # part of the repository) until the next push reaps it, once older than any push can
        # live. Age it instead of waiting that long.
        stale = leftovers(repo)
        assert all("tmp_objdir-incoming-" in path for path in stale), stale
        for path in stale:
            os.utime(path, (time.time() - 86400, time.time() - 86400))
    else:
        assert leftovers(repo) == []
    # The repository is usable: the same push, retried directly, lands.
    deadline = time.monotonic() + 60
    while True:
        res = run_git("push", "-q", "origin", "main", cwd=clone, env=env, check=False)
        if res.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(1)  # a killed worker is being replaced
    assert res.returncode == 0, res.stderr
    head = run_git("rev-parse", "HEAD", cwd=clone, env=env).stdout.strip()
    assert server_refs(repo)["refs/heads/main"] == head
    assert leftovers(repo) == []
    fsck = run_git("--git-dir", str(repo.git_dir), "fsck", "--full", "--strict", "--no-dangling", check=False)
    assert fsck.returncode == 0, fsck.stderr


def test_client_killed_mid_push(live_hub, git_env, work, slow_proxy):
    token, repo, clone = _prepare(live_hub, git_env, work)
    refs, objects = server_refs(repo), server_objects(repo)
    push = _start_slow_push(live_hub, slow_proxy, repo, token, clone, git_env)
    try:
        _wait_for(lambda: receive_pack_pids(repo.git_dir), 60, "the push to reach receive-pack")
        start = slow_proxy.uploaded
        _wait_for(lambda: slow_proxy.uploaded > start + 512 * 1024, 60, "part of the pack to arrive")
        os.killpg(push.pid, signal.SIGKILL)
    finally:
        push.wait(30)
    slow_proxy.close()  # the connection drops, as when a laptop lid closes
    _assert_untouched_then_push(live_hub, repo, token, clone, git_env, refs, objects)


def test_server_worker_killed_mid_push(live_hub, git_env, work, slow_proxy):
    token, repo, clone = _prepare(live_hub, git_env, work)
    refs, objects = server_refs(repo), server_objects(repo)
    push = _start_slow_push(live_hub, slow_proxy, repo, token, clone, git_env)
    try:
        pids = _wait_for(lambda: receive_pack_pids(repo.git_dir), 60, "the push to reach receive-pack")
        start = slow_proxy.uploaded
        _wait_for(lambda: slow_proxy.uploaded > start + 512 * 1024, 60, "part of the pack to arrive")
        # Again: the first one seen may have been the short-lived `--advertise-refs` run.
        pids = _wait_for(lambda: receive_pack_pids(repo.git_dir), 60, "the receiving receive-pack")
        worker = parent_pid(pids[0])
        os.kill(worker, signal.SIGKILL)
        _out, err = push.communicate(timeout=60)
    finally:
        if push.poll() is None:
            os.killpg(push.pid, signal.SIGKILL)
            push.wait(10)
    assert push.returncode != 0, err  # the client was told the push failed
    _assert_untouched_then_push(live_hub, repo, token, clone, git_env, refs, objects, killed=True)
    # The hub still answers.
    with urllib.request.urlopen(f"{live_hub.url}/api/models/{repo.repo_id}", timeout=30) as resp:
        assert resp.status == 200
