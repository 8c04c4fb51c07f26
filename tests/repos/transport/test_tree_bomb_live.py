"""A ~50 KB tree bomb cannot take the hub down (issue: "no single user can take the hub down").

A hub of its own, with small walk limits so the test stays quick: a pushed tree bomb (a few
objects describing 10^9 paths) is refused with a clear message; a repository that holds one
anyway (planted on disk, as limits lowered after the fact would leave it) answers every read
route within its limits; while those routes run, the web workers' memory stays bounded and
another user's requests keep succeeding.
"""
from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pygit2
import pytest

from tests.live import LiveHub, isolated_hub, require_tool
from tests.repos.git.bombs import tree_bomb

pytestmark = pytest.mark.live

LIMITS = {"HUB_TREE_MAX_PATHS": "20000", "HUB_TREE_MAX_DEPTH": "32", "HUB_TREE_MAX_ENTRIES": "5000",
          "HUB_WALK_SECONDS": "10", "HUB_INFO_MAX_SIBLINGS": "5000"}
PLANT = """
import json, time
import pygit2
from accounts.models import User
from repos.git.commit import update_ref
from repos.handles import git_repo
from repos.models import Repository
from repos.services.index import repo_reindex
from repos.services.repos import repo_create
from tests.repos.git.bombs import commit_tree, tree_bomb
user = User.objects.get(username="mallory")
repo = repo_create(user=user, namespace="mallory", name="planted")
git = git_repo(repo)
head = git.resolve("main")
sha = commit_tree(git.raw, tree_bomb(git.raw, levels=9, fanout=10), parents=[head])
update_ref(git, "refs/heads/main", sha, expected_old=head)
repo_reindex(repo=repo, git=git)
print(json.dumps({"sha": sha}))
"""


@pytest.fixture(scope="module")
def small_hub() -> Iterator[LiveHub]:
    tmp = Path(tempfile.mkdtemp(prefix="hub-bomb-"))
    try:
        with isolated_hub(tmp, extra_env=LIMITS) as (hub, proc):
            hub.proc = proc  # type: ignore[attr-defined]
            yield hub
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _get(hub: LiveHub, path: str, token: str | None = None, method: str = "GET",
         body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=60)
    try:
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def _worker_rss_kib(proc: subprocess.Popen) -> int:
    """Sum of the resident memory of the gunicorn master's children (the web workers)."""
    total = 0
    for pid in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split():
        status = Path(f"/proc/{pid}/status").read_text()
        total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
    return total


def _git(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_a_pushed_tree_bomb_is_refused(small_hub: LiveHub, tmp_path: Path) -> None:
    require_tool("git")
    token = small_hub.create_user("mallory")
    small_hub.manage("shell", "-c", "from accounts.models import User; from repos.services.repos import repo_create;"
                     "repo_create(user=User.objects.get(username='mallory'), namespace='mallory', name='pushed')")
    env = {**os.environ, "HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0",
           "GIT_AUTHOR_NAME": "m", "GIT_AUTHOR_EMAIL": "m@example.com", "GIT_COMMITTER_NAME": "m",
           "GIT_COMMITTER_EMAIL": "m@example.com"}
    url = f"http://mallory:{token}@127.0.0.1:{small_hub.port}/mallory/pushed"
    work = tmp_path / "clone"
    assert _git("clone", url, str(work), cwd=tmp_path, env=env).returncode == 0
    raw = pygit2.Repository(str(work))
    parent = raw.head.target
    sig = pygit2.Signature("m", "m@example.com")
    bomb = raw.create_commit("refs/heads/main", sig, sig, "a few objects", tree_bomb(raw, levels=9, fanout=10),
                             [parent])
    assert len(list(raw.odb)) < 40  # ~50 KB of objects for 10^9 paths
    pushed = _git("push", "origin", "main", cwd=work, env=env)
    assert pushed.returncode != 0
    assert "file tree is too large to process" in pushed.stderr and str(bomb)[:12] in pushed.stderr
    status, _h, body = _get(small_hub, "/api/models/mallory/pushed/revision/main")
    assert status == 200 and json.loads(body)["sha"] == str(parent)  # nothing moved


def test_a_planted_bomb_is_served_within_limits(small_hub: LiveHub) -> None:
    small_hub.create_user("mallory")
    other = small_hub.create_user("bystander")
    planted = json.loads(small_hub.manage("shell", "-c", PLANT).stdout.strip().splitlines()[-1])
    sha = planted["sha"]
    proc = small_hub.proc  # type: ignore[attr-defined]
    _get(small_hub, "/api/whoami-v2", other)  # every worker has served a request
    rss_before = _worker_rss_kib(proc)
    latencies: list[float] = []
    stop = threading.Event()

    def bystander() -> None:
        while not stop.is_set():
            started = time.monotonic()
            status, _h, _b = _get(small_hub, "/api/whoami-v2", other)
            latencies.append(time.monotonic() - started)
            assert status == 200

    thread = threading.Thread(target=bystander, daemon=True)
    thread.start()
    try:
        status, headers, body = _get(small_hub, "/api/models/mallory/planted")
        assert status == 200 and headers.get("x-siblings-truncated") == "true"
        assert 0 < len(json.loads(body)["siblings"]) <= 5000
        # Recursive tree pages: each bounded, and following the Link header goes on.
        path = "/api/models/mallory/planted/tree/main?recursive=true"
        for _page in range(3):
            status, headers, body = _get(small_hub, path)
            assert status == 200 and len(json.loads(body)) == 1000
            link = headers["link"]
            path = urllib.parse.urlsplit(link[1:link.index(">")])._replace(scheme="", netloc="").geturl()
        deep = "d0/" * 8 + "f3.txt"
        status, _h, body = _get(small_hub, f"/mallory/planted/resolve/main/{deep}")
        assert status == 200 and body == b"boom\n"
        form = urllib.parse.urlencode({"paths": [deep, "d9"]}, doseq=True).encode()
        status, _h, body = _get(small_hub, "/api/models/mallory/planted/paths-info/main", method="POST", body=form,
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 200 and [e["path"] for e in json.loads(body)] == [deep, "d9"]
        for page in ("/mallory/planted", "/mallory/planted/tree/main", "/mallory/planted/tree/main/d4",
                     "/mallory/planted/commits/main"):
            assert _get(small_hub, page)[0] == 200, page
        status, _h, body = _get(small_hub, f"/mallory/planted/commit/{sha}")
        assert status == 200 and b"too many files to display" in body
    finally:
        stop.set()
        thread.join(30)
    assert latencies and max(latencies) < 10  # the bystander was never starved
    growth_mib = (_worker_rss_kib(proc) - rss_before) / 1024
    assert growth_mib < 300, f"web workers grew by {growth_mib:.0f} MiB"
