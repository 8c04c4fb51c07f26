"""Disk full (SECURITY.md T78): a real hub whose data directory is a small tmpfs, filled up.

The tmpfs is mounted in a private mount namespace (`unshare --mount`) held by a `sleep`
process; the hub's commands and gunicorn enter it with `nsenter`, and the test reaches its
files through `/proc/<holder>/root`. Nothing is mounted on the host. Mounting needs root
(CAP_SYS_ADMIN): where it is impossible the test is skipped, and fails on CI (CI=true).

With the disk full, every write path answers 507 with HF error headers (API commit, branch,
tag, super-squash, LFS PUT, git push, browser upload) and nothing is half-written; once space
is freed everything works again, `git fsck` is clean, and no temporary file is left. A push
above the free-space threshold but larger than the free space fails in receive-pack itself:
the client is told why, the hub logs it, no ref moves and the quarantine is gone.
"""
from __future__ import annotations

import base64
import errno
import hashlib
import http.client
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.live import PYTHON, ROOT, LiveHub, free_port, hub_env, stop_process, wait_http
from tests.repos.git_client import client_git_env, run_git

pytestmark = pytest.mark.live

TMPFS_SIZE = 32 * 1024 * 1024
MIN_PUSH_FREE = 1024 * 1024  # the hub's HUB_PUSH_MIN_FREE_BYTES
USER = "filler"
PASSWORD = f"{USER}-Pa55word!"  # what LiveHub.create_user sets


def _cannot_mount(reason: str) -> None:
    message = f"cannot mount a tmpfs in a private mount namespace ({reason.strip()}): this test needs root"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


# --------------------------------------------------------------------------- the full disk


@dataclass
class MountNamespace:
    """A private mount namespace with a tmpfs on `mount_point`, alive while `holder` runs."""

    holder: subprocess.Popen
    mount_point: Path
    base: Path

    def outside(self, path: Path) -> Path:
        """`path` of the namespace, as this process reaches it."""
        return Path(f"/proc/{self.holder.pid}/root") / Path(path).relative_to("/")

    def command(self, argv: list[str]) -> list[str]:
        # Entering a mount namespace moves to its root directory: back to the repository.
        return ["nsenter", f"--target={self.holder.pid}", "--mount", f"--wd={ROOT}", "--", *argv]

    @property
    def filler(self) -> Path:
        return self.outside(self.mount_point / "filler")

    def fill(self, *, leave: int = 0) -> None:
        """Fill the tmpfs, then give back `leave` bytes."""
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for size in (1024 * 1024, 4096, 1):
                block = b"\xff" * size
                while True:
                    try:
                        if os.write(fd, block) < size:
                            break
                    except OSError as exc:
                        if exc.errno != errno.ENOSPC:
                            raise
                        break
            if leave:
                os.ftruncate(fd, max(0, os.fstat(fd).st_size - leave))
        finally:
            os.close(fd)

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.outside(self.mount_point)).free


@pytest.fixture(scope="module")
def namespace() -> Iterator[MountNamespace]:
    for tool in ("unshare", "nsenter", "mount"):
        if shutil.which(tool) is None:
            _cannot_mount(f"{tool} is not installed")
    base = Path(tempfile.mkdtemp(prefix="hub-diskfull-"))
    mount_point = base / "data"
    mount_point.mkdir()
    holder = subprocess.Popen(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         'mount -t tmpfs -o size="$1" tmpfs "$2" && echo mounted && exec sleep 3600', "sh", str(TMPFS_SIZE),
         str(mount_point)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert holder.stdout is not None and holder.stderr is not None
        if holder.stdout.readline().strip() != "mounted":
            holder.wait(10)
            _cannot_mount(holder.stderr.read() or f"exit status {holder.returncode}")
        ns = MountNamespace(holder=holder, mount_point=mount_point, base=base)
        assert shutil.disk_usage(ns.outside(mount_point)).total <= TMPFS_SIZE, "the data dir is not the tmpfs"
        assert os.stat(mount_point).st_dev != os.stat(ns.outside(mount_point)).st_dev, "the mount leaked to the host"
        yield ns
    finally:
        stop_process(holder)
        shutil.rmtree(base, ignore_errors=True)


# --------------------------------------------------------------------------- the hub


class NamespacedHub(LiveHub):
    """A LiveHub whose commands run inside the mount namespace."""

    namespace: MountNamespace

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(self.namespace.command([PYTHON, str(ROOT / "manage.py"), *args]), env=self.env,
                              cwd=ROOT, capture_output=True, text=True, check=check, timeout=120)

    def request(self, method: str, path: str, body: bytes | None = None, *, token: str | None = None,
                content_type: str | None = None, headers: dict[str, str] | None = None
                ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        if content_type:
            all_headers["Content-Type"] = content_type
        try:
            conn.request(method, path, body=body, headers=all_headers)
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()


@pytest.fixture(scope="module")
def hub(namespace: MountNamespace) -> Iterator[NamespacedHub]:
    port = free_port()
    data = namespace.mount_point
    env = hub_env(data, port, {
        # Everything on the small disk, as in the embedded default.
        "DATABASE_URL": f"sqlite:///{data / 'db.sqlite3'}", "CELERY_BROKER_URL": "filesystem://", "CACHE_URL": "",
        "HUB_PUSH_MIN_FREE_BYTES": str(MIN_PUSH_FREE), "HUB_PACK_CACHE": "0",
    })
    hub = NamespacedHub(url=f"http://127.0.0.1:{port}", port=port, data_dir=data, env=env,
                        log_path=namespace.base / "server.log")
    hub.namespace = namespace
    hub.manage("migrate", "--noinput")
    hub.create_user(USER)
    with open(namespace.base / "server.log", "wb") as log:
        proc = subprocess.Popen(
            namespace.command([PYTHON, "-m", "gunicorn", "hub.wsgi:application", "-c",
                               str(ROOT / "hub" / "gunicorn_conf.py"), "--bind", f"127.0.0.1:{port}",
                               "--workers", "1"]),
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        try:
            wait_http(f"{hub.url}/api/agent-harnesses", proc=proc)
        except Exception:
            raise RuntimeError("hub did not start:\n" + hub.log_path.read_text()[-4000:]) from None
        yield hub
    finally:
        stop_process(proc)


# --------------------------------------------------------------------------- clients


def ndjson_commit(path: str, content: bytes, summary: str = "update") -> bytes:
    lines = [{"key": "header", "value": {"summary": summary}},
             {"key": "file", "value": {"path": path, "content": base64.b64encode(content).decode(),
                                       "encoding": "base64"}}]
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


class Browser:
    """A logged-in browser: session and CSRF cookies, form posts."""

    def __init__(self, hub: NamespacedHub) -> None:
        self.hub = hub
        self.cookies: dict[str, str] = {}
        status, _, _ = self.request("GET", "/login")
        assert status == 200
        status, headers, body = self.post_form("/login", {"username": USER, "password": PASSWORD})
        assert status == 302 and "sessionid" in self.cookies, (status, body[:300])

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None
                ) -> tuple[int, dict[str, str], bytes]:
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        status, headers, data = self.hub.request(method, path, body, content_type=content_type,
                                                 headers={"Cookie": cookie} if cookie else {})
        for name, value in re.findall(r"(csrftoken|sessionid)=([^;]*)", headers.get("set-cookie", "")):
            self.cookies[name] = value
        return status, headers, data

    def post_form(self, path: str, fields: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        from urllib.parse import urlencode

        body = urlencode({**fields, "csrfmiddlewaretoken": self.cookies["csrftoken"]}).encode()
        return self.request("POST", path, body, "application/x-www-form-urlencoded")

    def upload(self, repo_id: str, name: str, content: bytes) -> tuple[int, dict[str, str], bytes]:
        boundary = uuid.uuid4().hex
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n'
                 f'{self.cookies["csrftoken"]}\r\n'.encode(),
                 f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
                 f"Content-Type: text/plain\r\n\r\n".encode() + content + b"\r\n",
                 f"--{boundary}--\r\n".encode()]
        return self.request("POST", f"/{repo_id}/upload/main", b"".join(parts),
                            f"multipart/form-data; boundary={boundary}")


@dataclass
class World:
    hub: NamespacedHub
    ns: MountNamespace
    token: str
    repo_id: str
    git_dir: Path  # inside the namespace
    browser: Browser
    clone: Path
    git_env: dict[str, str]

    def server_git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """git on the hub's repository, inside the namespace (git resolves /proc/<pid>/root
        to the host's empty mount point)."""
        result = subprocess.run(self.ns.command(["git", "--git-dir", str(self.git_dir), *args]), capture_output=True,
                                text=True, timeout=120)
        assert not check or result.returncode == 0, result.stdout + result.stderr
        return result

    def head(self, ref: str = "refs/heads/main") -> str | None:
        return self.server_git("for-each-ref", "--format=%(objectname)", ref).stdout.strip() or None

    def refs(self) -> str:
        return self.server_git("for-each-ref").stdout

    def api(self, method: str, path: str, body: bytes | None = None, content_type: str = "application/json"):
        return self.hub.request(method, f"/api/models/{self.repo_id}{path}", body, token=self.token,
                                content_type=content_type)

    def commit(self, path: str, content: bytes):
        return self.api("POST", "/commit/main", ndjson_commit(path, content), "application/x-ndjson")

    def lfs_upload(self, data: bytes) -> tuple[str, int]:
        """LFS batch (no disk write), then the PUT to the signed href: (oid, PUT status)."""
        oid = hashlib.sha256(data).hexdigest()
        batch = {"operation": "upload", "transfers": ["basic"], "ref": {"name": "refs/heads/main"},
                 "objects": [{"oid": oid, "size": len(data)}]}
        status, _, body = self.hub.request("POST", f"/{self.repo_id}.git/info/lfs/objects/batch",
                                           json.dumps(batch).encode(), token=self.token,
                                           content_type="application/vnd.git-lfs+json")
        assert status == 200, body
        href = json.loads(body)["objects"][0]["actions"]["upload"]["href"]
        status, headers, body = self.hub.request("PUT", href.removeprefix(self.hub.url), data,
                                                 content_type="application/octet-stream")
        if status != 200:
            assert status == 507 and headers["x-error-message"].startswith("Insufficient storage"), (status, body)
            assert headers["content-type"] == "application/vnd.git-lfs+json"
        return oid, status

    def push(self, refspec: str) -> subprocess.CompletedProcess:
        return run_git("push", "origin", refspec, cwd=self.clone, env=self.git_env, check=False)

    def leftovers(self) -> list[str]:
        """What a failed write must not leave: quarantines, lock files, temporary packs and
        objects, spooled uploads."""
        git_dir = self.ns.outside(self.git_dir)
        found = [p.name for p in (git_dir / "objects").iterdir() if p.name.startswith(("tmp_objdir", "incoming"))]
        found += [str(p) for p in git_dir.rglob("*.lock") if p.name != "hub.lock"]
        found += [p.name for p in (git_dir / "objects" / "pack").glob("tmp_*")]
        tmp_root = self.ns.outside(self.hub.data_dir / "tmp")
        found += [p.name for p in tmp_root.rglob("*") if p.is_file()]
        return found

    def fsck(self) -> None:
        self.server_git("fsck", "--full", "--strict", "--no-dangling")

    def lfs_objects_whole(self) -> None:
        root = self.ns.outside(self.hub.data_dir / "lfs")
        for path in root.rglob("*"):
            if path.is_file() and re.fullmatch(r"[0-9a-f]{64}", path.name):
                assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name, path


@pytest.fixture(scope="module")
def world(hub: NamespacedHub, namespace: MountNamespace, tmp_path_factory) -> World:
    token = hub.tokens[USER]
    name = f"full-{uuid.uuid4().hex[:6]}"
    status, _, body = hub.request("POST", "/api/repos/create", json.dumps({"name": name}).encode(), token=token,
                                  content_type="application/json")
    assert status == 200, body
    repo_id = f"{USER}/{name}"
    git_dir = Path(hub.manage("shell", "-c", "from repos.models import Repository; "
                              f"print(Repository.objects.get(namespace={USER!r}, name={name!r}).git_dir)"
                              ).stdout.strip().splitlines()[-1])
    world = World(hub=hub, ns=namespace, token=token, repo_id=repo_id, git_dir=git_dir,
                  browser=Browser(hub), clone=tmp_path_factory.mktemp("clone") / "repo",
                  git_env=client_git_env(tmp_path_factory.mktemp("home")))
    status, _, body = world.commit("README.md", b"# full disk\n")
    assert status == 200, body
    run_git("clone", f"http://{USER}:{token}@127.0.0.1:{hub.port}/{repo_id}", str(world.clone), env=world.git_env)
    return world


def _assert_507(answer) -> None:
    status, headers, body = answer
    assert status == 507, (status, body[:500])
    assert headers["x-error-message"].startswith("Insufficient storage"), headers


# --------------------------------------------------------------------------- the tests


def test_every_write_path_answers_507_then_works_again(world: World):
    ns = world.ns
    run_git("commit", "--allow-empty", "-m", "pushed while the disk is full", cwd=world.clone, env=world.git_env)
    before = world.refs()
    ns.fill()
    try:
        assert ns.free_bytes() < 64 * 1024
        # Reads still work.
        assert world.api("GET", "")[0] == 200
        _assert_507(world.commit("a.txt", b"a" * 100))
        _assert_507(world.api("POST", "/branch/dev", b"{}"))
        _assert_507(world.api("POST", "/tag/main", b'{"tag": "v1"}'))
        _assert_507(world.api("POST", "/super-squash/main", b"{}"))
        _oid, status = world.lfs_upload(os.urandom(200_000))
        assert status == 507
        push = world.push("HEAD:refs/heads/main")
        assert push.returncode != 0 and "Insufficient storage" in push.stderr, push.stderr
        status, headers, body = world.browser.upload(world.repo_id, "up.txt", b"uploaded\n" * 1000)
        assert status == 507 and headers["content-type"].startswith("text/html"), body[:300]
        assert world.refs() == before
        assert world.leftovers() == []
    finally:
        ns.free()
    world.fsck()
    world.lfs_objects_whole()

    # Space is back: every path works, and nothing of the failed attempts shows up.
    status, _, body = world.commit("a.txt", b"a" * 100)
    assert status == 200, body
    assert world.api("POST", "/branch/dev", b"{}")[0] == 200
    assert world.api("POST", "/tag/main", b'{"tag": "v1"}')[0] == 200
    oid, status = world.lfs_upload(os.urandom(200_000))
    assert status == 200
    lfs_line = {"key": "lfsFile", "value": {"path": "w.bin", "algo": "sha256", "oid": oid, "size": 200_000}}
    body = ndjson_commit("b.txt", b"b").rstrip(b"\n") + b"\n" + json.dumps(lfs_line).encode() + b"\n"
    assert world.api("POST", "/commit/main", body, "application/x-ndjson")[0] == 200
    push = world.push("HEAD:refs/heads/pushed")
    assert push.returncode == 0, push.stderr
    status, _, body = world.browser.upload(world.repo_id, "up.txt", b"uploaded\n" * 1000)
    assert status == 302, body[:300]
    assert world.api("POST", "/super-squash/dev", b"{}")[0] == 200
    world.fsck()
    world.lfs_objects_whole()
    assert world.leftovers() == []


def test_receive_pack_failing_for_space_is_visible_and_leaves_nothing(world: World):
    ns = world.ns
    run_git("checkout", "-q", "-B", "big", cwd=world.clone, env=world.git_env)
    (world.clone / "big.txt").write_text(os.urandom(3 * 1024 * 1024).hex())  # ~3 MB of pack: does not fit
    run_git("add", "big.txt", cwd=world.clone, env=world.git_env)
    run_git("commit", "-q", "-m", "too big for the disk", cwd=world.clone, env=world.git_env)
    before = world.refs()
    ns.fill(leave=MIN_PUSH_FREE + 512 * 1024)  # above the threshold: receive-pack starts
    try:
        push = world.push("big")
        assert push.returncode != 0, push.stderr
        assert "No space left on device" in push.stderr or "unpack" in push.stderr, push.stderr
        assert world.refs() == before and world.head("refs/heads/big") is None
        assert world.leftovers() == []
    finally:
        ns.free()
    # The hub logs it once the response is finished (after the client may have exited).
    deadline = time.monotonic() + 30
    while "failed: the disk is full" not in world.hub.log_path.read_text(errors="replace"):
        assert time.monotonic() < deadline, world.hub.log_path.read_text(errors="replace")[-3000:]
        time.sleep(0.1)
    world.fsck()
    push = world.push("big")
    assert push.returncode == 0, push.stderr
    assert world.head("refs/heads/big") is not None
    world.fsck()
    assert world.leftovers() == []
