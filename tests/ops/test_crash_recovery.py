"""kill -9 of the web worker in the middle of a push and of an upload, then the next reap:
no quarantine directory and no `.part` file is left, refs and objects are as before, `git fsck`
is clean and the same push then lands (issue 9 item 6).

The leftovers are aged instead of waiting HUB_REAP_AGE (an hour): the reap that runs is the
one `make run` schedules (`manage.py reap`, default ages), which never touches a live writer's
files. The restart path (`reap --startup`) is covered in tests/ops/test_run.py.
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import LiveHub
from tests.repos.git_client import (
    SlowProxy,
    client_git_env,
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

LFS_JSON = "application/vnd.git-lfs+json"
UPLOAD_SIZE = 4 * 1024 * 1024
TWO_DAYS = 2 * 86400


@pytest.fixture
def proxy(live_hub: LiveHub) -> Iterator[SlowProxy]:
    proxy = SlowProxy(live_hub.port)
    try:
        yield proxy
    finally:
        proxy.close()


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def _upload_href(live_hub: LiveHub, repo_path: str, token: str, oid: str, size: int) -> tuple[str, dict[str, str]]:
    payload = {"operation": "upload", "transfers": ["basic"], "objects": [{"oid": oid, "size": size}]}
    request = urllib.request.Request(f"{live_hub.url}/{repo_path}.git/info/lfs/objects/batch",
                                     data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": LFS_JSON, "Accept": LFS_JSON,
                                              "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        upload = json.load(response)["objects"][0]["actions"]["upload"]
    return upload["href"], upload.get("header", {})


def _holders(path: Path) -> set[int]:
    """Processes with `path` open."""
    found = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd) == str(path):
                    found.add(int(proc.name))
        except OSError:
            continue
    return found


def test_worker_killed_mid_push_and_mid_upload_then_reap(live_hub: LiveHub, tmp_path: Path, proxy: SlowProxy) -> None:
    git_env = client_git_env(tmp_path / "home")
    name = unique("crash")
    setup = provision(live_hub, users=["crash_op"], repos=[("crash_op", name, False, "model")])
    token, repo = setup.tokens["crash_op"], setup.repos[f"crash_op/{name}"]
    clone = tmp_path / "clone"
    run_git("clone", "-q", remote_url(live_hub, repo, token), str(clone), env=git_env)
    (clone / "payload.txt").write_text(os.urandom(3 * 1024 * 1024).hex())  # ~6 MB, poorly compressible
    run_git("add", "payload.txt", cwd=clone, env=git_env)
    run_git("commit", "-q", "-m", "payload", cwd=clone, env=git_env)
    refs, objects = server_refs(repo), server_objects(repo)

    # An upload in flight: its head and the first MiB of its body, the rest never comes.
    data = os.urandom(UPLOAD_SIZE)
    oid = hashlib.sha256(data).hexdigest()
    href, headers = _upload_href(live_hub, repo.url_path, token, oid, UPLOAD_SIZE)
    target = urllib.request.urlparse(href)
    upload = socket.create_connection(("127.0.0.1", live_hub.port), timeout=30)
    head = [f"PUT {target.path}?{target.query} HTTP/1.1", f"Host: 127.0.0.1:{live_hub.port}",
            f"Content-Length: {UPLOAD_SIZE}", "Content-Type: application/octet-stream",
            *(f"{k}: {v}" for k, v in headers.items())]
    upload.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + data[:1024 * 1024])
    tmp_root = live_hub.data_dir / "tmp"
    part = _wait_for(lambda: next((p for p in tmp_root.glob(f"{oid[:16]}-*.part") if p.stat().st_size), None),
                     30, "the upload's temporary file")

    # A push in flight: part of the pack has reached receive-pack.
    url = remote_url(live_hub, repo, token).replace(f":{live_hub.port}/", f":{proxy.port}/")
    push = subprocess.Popen(["git", "push", url, "main"], cwd=clone, env=git_env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        pids = _wait_for(lambda: receive_pack_pids(repo.git_dir), 60, "the push to reach receive-pack")
        start = proxy.uploaded
        _wait_for(lambda: proxy.uploaded > start + 512 * 1024, 60, "part of the pack to arrive")
        # Again: the first one seen may have been the short-lived `--advertise-refs` run.
        pids = _wait_for(lambda: receive_pack_pids(repo.git_dir), 60, "the receiving receive-pack")
        victims = {parent_pid(pids[0]), *_holders(part)}
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        _out, err = push.communicate(timeout=60)
    finally:
        if push.poll() is None:
            os.killpg(push.pid, signal.SIGKILL)
            push.wait(10)
        upload.close()
    assert push.returncode != 0, err
    _wait_for(lambda: not receive_pack_pids(repo.git_dir), 60, "receive-pack to exit")

    # What the killed processes left: a quarantine and the partial object.
    stale = leftovers(repo)
    assert stale and all("tmp_objdir-incoming-" in path for path in stale), stale
    assert part.exists()
    for path in [*stale, part]:
        os.utime(path, (time.time() - TWO_DAYS, time.time() - TWO_DAYS))

    out = live_hub.manage("reap").stdout
    assert "reaped" in out, out
    assert leftovers(repo) == []
    assert list(tmp_root.glob(f"{oid[:16]}-*.part")) == []
    assert server_refs(repo) == refs
    assert server_objects(repo) == objects
    assert not (live_hub.data_dir / "lfs" / oid[:2] / oid[2:4] / oid).exists()  # never published
    fsck = run_git("--git-dir", str(repo.git_dir), "fsck", "--full", "--strict", "--no-dangling", check=False)
    assert fsck.returncode == 0, fsck.stderr

    # The repository is usable: the same push, directly, lands (once the killed worker is replaced).
    result = _wait_for(lambda: (lambda r: r if r.returncode == 0 else None)(
        run_git("push", "-q", "origin", "main", cwd=clone, env=git_env, check=False)), 60, "the push to land")
    assert result.returncode == 0
    assert server_refs(repo)["refs/heads/main"] == run_git("rev-parse", "HEAD", cwd=clone, env=git_env).stdout.strip()
    assert leftovers(repo) == []
