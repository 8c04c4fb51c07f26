"""Authorization at the moment refs move (issue: "keep access they lost"): a credential that is
revoked, narrowed or whose user is deactivated while a push, an API commit or an LFS upload is
streaming never moves a ref or stores an object.

The client is held back on purpose: the request's headers (and the credential check at its
start) go through, the rest of the body waits until the test has taken the access away. Bodies
are larger than what the web server buffers before a request starts (hub/gunicorn_worker.py reads
small bodies whole first), so the view really is running while the access goes away.
"""
from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import socket
import subprocess
import threading
import uuid
from pathlib import Path

import pytest

from tests.live import LiveHub, require_tool

pytestmark = pytest.mark.live

SETUP = """
import json
from accounts.models import User
from accounts.services.tokens import ScopeGrant, token_create
from accounts.services.users import user_create
from repos.services.repos import repo_create
name = NAME
user = user_create(username=name, password=name + "-Pa55word!", email=name + "@example.com")
repo = repo_create(user=user, namespace=name, name="model")
classic = token_create(user=user, name="classic", role="write")
fine = token_create(user=user, name="fine", role="fineGrained", scopes=[ScopeGrant(access="write", repository=repo)])
print(json.dumps({"classic": classic[1], "fine": fine[1], "classic_id": classic[0].pk, "fine_id": fine[0].pk}))
"""

TAKE_AWAY = {
    "revoked": "from accounts.services.tokens import token_revoke; from accounts.models import AccessToken;"
               "token_revoke(token=AccessToken.objects.get(pk={tid}))",
    "narrowed": "from accounts.models import TokenScope;"
                "TokenScope.objects.filter(token_id={tid}).update(access='read')",
    "deactivated": "from accounts.models import User; User.objects.filter(username='{user}').update(is_active=False)",
}


def _setup(hub: LiveHub) -> dict:
    name = f"u{uuid.uuid4().hex[:8]}"
    out = hub.manage("shell", "-c", f"NAME = {name!r}\n" + SETUP).stdout.strip().splitlines()[-1]
    return {"user": name, **json.loads(out)}


def _take_away(hub: LiveHub, how: str, who: dict) -> None:
    token_id = who["fine_id"] if how == "narrowed" else who["classic_id"]
    hub.manage("shell", "-c", TAKE_AWAY[how].format(tid=token_id, user=who["user"]))


def _token_for(how: str, who: dict) -> str:
    return who["fine"] if how == "narrowed" else who["classic"]


def _head(hub: LiveHub, repo_id: str, token: str | None = None) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=30)
    conn.request("GET", f"/api/models/{repo_id}/revision/main")
    body = json.loads(conn.getresponse().read())
    conn.close()
    return body["sha"]


def _held_request(hub: LiveHub, method: str, path: str, headers: dict[str, str], first: bytes,
                  rest: bytes) -> tuple[http.client.HTTPConnection, callable]:
    """Send the headers and `first`; return the connection and a function sending `rest`
    and returning (status, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=60)
    conn.putrequest(method, path)
    for key, value in headers.items():
        conn.putheader(key, value)
    conn.putheader("Content-Length", str(len(first) + len(rest)))
    conn.endheaders()
    conn.send(first)

    def finish() -> tuple[int, bytes]:
        conn.send(rest)
        response = conn.getresponse()
        return response.status, response.read()

    return conn, finish


@pytest.mark.parametrize("how", ["revoked", "narrowed", "deactivated"])
def test_api_commit(live_hub: LiveHub, how: str) -> None:
    who = _setup(live_hub)
    repo_id = f"{who['user']}/model"
    before = _head(live_hub, repo_id)
    late = base64.b64encode(os.urandom(96 * 1024)).decode()  # text, over the server's pre-read
    lines = [json.dumps({"key": "header", "value": {"summary": "late"}}),
             json.dumps({"key": "file", "value": {"path": "late.txt",
                                                 "content": base64.b64encode(late.encode()).decode()}})]
    body = ("\n".join(lines) + "\n").encode()
    conn, finish = _held_request(live_hub, "POST", f"/api/models/{repo_id}/commit/main",
                                 {"Authorization": f"Bearer {_token_for(how, who)}",
                                  "Content-Type": "application/x-ndjson"}, body[:20], body[20:])
    try:
        _take_away(live_hub, how, who)
        status, answer = finish()
    finally:
        conn.close()
    assert status in (401, 403), answer
    assert _head(live_hub, repo_id) == before


@pytest.mark.parametrize("how", ["revoked", "narrowed", "deactivated"])
def test_lfs_upload(live_hub: LiveHub, how: str) -> None:
    who = _setup(live_hub)
    repo_id = f"{who['user']}/model"
    data = os.urandom(256 * 1024)
    oid = hashlib.sha256(data).hexdigest()
    conn = http.client.HTTPConnection("127.0.0.1", live_hub.port, timeout=30)
    batch = {"operation": "upload", "transfers": ["basic"], "ref": {"name": "refs/heads/main"},
             "objects": [{"oid": oid, "size": len(data)}]}
    conn.request("POST", f"/{repo_id}.git/info/lfs/objects/batch", body=json.dumps(batch),
                 headers={"Authorization": f"Bearer {_token_for(how, who)}",
                          "Content-Type": "application/vnd.git-lfs+json"})
    answer = json.loads(conn.getresponse().read())
    conn.close()
    href = answer["objects"][0]["actions"]["upload"]["href"]
    path = href[href.index("/lfs-upload/"):]
    conn, finish = _held_request(live_hub, "PUT", path, {"Content-Type": "application/octet-stream"},
                                 data[:1000], data[1000:])
    try:
        _take_away(live_hub, how, who)
        status, body = finish()
    finally:
        conn.close()
    assert status in (401, 403), body
    # The object never became visible: a batch download as the (still valid) owner finds nothing.
    live_hub.manage("shell", "-c", "from accounts.models import User;"
                    f"User.objects.filter(username='{who['user']}').update(is_active=True)")
    conn = http.client.HTTPConnection("127.0.0.1", live_hub.port, timeout=30)
    probe = {"operation": "download", "objects": [{"oid": oid, "size": len(data)}]}
    conn.request("POST", f"/{repo_id}.git/info/lfs/objects/batch", body=json.dumps(probe),
                 headers={"Authorization": f"Bearer {who['fine']}", "Content-Type": "application/vnd.git-lfs+json"})
    assert json.loads(conn.getresponse().read())["objects"][0]["error"]["code"] == 404
    conn.close()


class HoldingProxy:
    """A loopback TCP proxy in front of the hub that passes request headers at once but holds
    the body of a git-receive-pack POST until `release` is set (`arrived` is set when it
    starts). Bounded: every wait has a deadline and the threads are daemons closed on exit."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target), timeout=60)
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, inbound: bool) -> None:
        holding = False
        try:
            while chunk := src.recv(65536):
                if inbound and b"POST " in chunk and b"git-receive-pack" in chunk.split(b"\r\n", 1)[0]:
                    head, sep, body = chunk.partition(b"\r\n\r\n")
                    dst.sendall(head + sep)
                    self.arrived.set()
                    holding = True
                    chunk = body
                if holding and not self.release.is_set():
                    assert self.release.wait(60), "the test never released the push"
                if chunk:
                    dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.release.set()
        self.server.close()


@pytest.mark.parametrize("how", ["revoked", "narrowed", "deactivated"])
def test_git_push(live_hub: LiveHub, tmp_path: Path, how: str) -> None:
    require_tool("git")
    who = _setup(live_hub)
    repo_id = f"{who['user']}/model"
    before = _head(live_hub, repo_id)
    env = {**os.environ, "HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}
    direct = f"http://{who['user']}:{_token_for(how, who)}@127.0.0.1:{live_hub.port}/{repo_id}"
    work = tmp_path / "w"
    subprocess.run(["git", "clone", direct, str(work)], env=env, check=True, capture_output=True, timeout=120)
    # Random text (incompressible) so the pack outgrows what the server reads before the view.
    (work / "late.txt").write_text(base64.b64encode(os.urandom(150 * 1024)).decode() + "\n")
    subprocess.run(["git", "add", "late.txt"], cwd=work, env=env, check=True, capture_output=True)
    subprocess.run(["git", "commit", "-m", "late"], cwd=work, env=env, check=True, capture_output=True)
    proxy = HoldingProxy(live_hub.port)
    try:
        via_proxy = f"http://{who['user']}:{_token_for(how, who)}@127.0.0.1:{proxy.port}/{repo_id}"
        push = subprocess.Popen(["git", "push", via_proxy, "HEAD:main"], cwd=work, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert proxy.arrived.wait(60), "the push never reached the hub"
            _take_away(live_hub, how, who)
            proxy.release.set()
            _out, err = push.communicate(timeout=120)
        finally:
            if push.poll() is None:
                push.kill()
                push.wait(10)
    finally:
        proxy.close()
    assert push.returncode != 0
    assert "revoked" in err or "deactivated" in err or "write access" in err, err
    assert _head(live_hub, repo_id) == before
