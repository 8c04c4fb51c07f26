"""The pure layers of git over HTTP, without a server: pkt-lines, bodies, the git process
wrapper, the hook bridge and quarantine handling."""
from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from repos.git import hooks, http_body, smart_http
from repos.git.errors import GitError
from repos.git.quarantine import quarantine_env, reap_stale_quarantines
from tests.repos.git_client import requires_git, run_git


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    """A bare repository with one commit on main."""
    work = tmp_path / "w"
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@x", "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp_path)}
    run_git("init", "-q", "-b", "main", str(work), env=env)
    (work / "f.txt").write_text("hello\n")
    run_git("add", "f.txt", cwd=work, env=env)
    run_git("commit", "-q", "-m", "one", cwd=work, env=env)
    run_git("clone", "-q", "--bare", str(work), str(tmp_path / "b.git"), env=env)
    return tmp_path / "b.git"


def test_pkt_lines_and_headers():
    assert smart_http.pkt_line(b"a\n") == b"0006a\n"
    assert smart_http.service_header("git-upload-pack") == b"001e# service=git-upload-pack\n0000"
    assert smart_http.git_protocol("version=2") == "version=2"
    assert smart_http.git_protocol(" version=2 ") == "version=2"
    for value in (None, "", "version=1", "version=2:x=y", "version=2\nGIT_DIR=/etc"):
        assert smart_http.git_protocol(value) is None


def test_iter_body_by_length_and_to_eof():
    data = os.urandom(200_000)
    assert b"".join(http_body.iter_body(io.BytesIO(data), len(data), chunk_size=7000)) == data
    # Only the announced bytes are read, even if more are there.
    assert b"".join(http_body.iter_body(io.BytesIO(data), 10)) == data[:10]
    assert b"".join(http_body.iter_body(io.BytesIO(data), None)) == data
    with pytest.raises(http_body.IncompleteBody):
        b"".join(http_body.iter_body(io.BytesIO(data), len(data) + 1))


def test_gunzip_chunks_streams_and_bounds():
    data = b"0032want " + b"a" * 40 + b"\n" * 1000
    packed = gzip.compress(data)
    chunks = [packed[i:i + 10] for i in range(0, len(packed), 10)]
    assert b"".join(http_body.gunzip_chunks(chunks)) == data
    bomb = gzip.compress(b"\0" * (5 * 1024 * 1024))
    with pytest.raises(http_body.BodyError, match="exceeds"):
        b"".join(http_body.gunzip_chunks([bomb], limit=1024 * 1024))
    with pytest.raises(http_body.BodyError, match="invalid gzip"):
        b"".join(http_body.gunzip_chunks([b"not gzip at all"]))
    with pytest.raises(http_body.BodyError, match="truncated"):
        b"".join(http_body.gunzip_chunks([packed[:-8]]))


def test_git_argv_is_a_fixed_list():
    argv = smart_http.git_argv("git-upload-pack", Path("/r/x.git"), config={"a.b": "c"}, advertise=True)
    assert argv == ["git", "-c", "a.b=c", "upload-pack", "--stateless-rpc", "--strict", "--advertise-refs",
                    "/r/x.git"]
    with pytest.raises(smart_http.SmartHttpError):
        smart_http.git_argv("git-upload-archive", Path("/r"), config={})
    env = smart_http.git_env({"X": "1"})
    assert env["GIT_CONFIG_NOSYSTEM"] == "1" and env["X"] == "1"
    assert not [k for k in env if k.startswith("GIT_DIR")]


@requires_git
def test_advertisement_v0_and_v2(bare):
    body = smart_http.start_service(bare, "git-upload-pack", advertise=True).read_all()
    assert body.startswith(smart_http.service_header("git-upload-pack"))
    assert b"refs/heads/main" in body
    v2 = smart_http.start_service(bare, "git-upload-pack", advertise=True, protocol="version=2").read_all()
    assert v2.startswith(b"000eversion 2\n")
    # receive-pack has no v2: the header is kept and protocol ignored.
    push = smart_http.start_service(bare, "git-receive-pack", advertise=True, protocol="version=2",
                                    config=smart_http.receive_pack_config(hooks_dir=hooks.HOOKS_DIR)).read_all()
    assert push.startswith(smart_http.service_header("git-receive-pack"))
    assert b"atomic" in push


@requires_git
def test_rpc_streams_request_and_response(bare):
    request = smart_http.pkt_line(b"command=ls-refs\n") + b"0001" + smart_http.pkt_line(b"peel\n") + b"0000"
    chunks = (request[i:i + 3] for i in range(0, len(request), 3))  # a trickle of tiny chunks
    rpc = smart_http.start_service(bare, "git-upload-pack", body=chunks, protocol="version=2")
    out = rpc.read_all()
    assert b"refs/heads/main" in out
    assert rpc.succeeded


@requires_git
def test_close_stops_a_stuck_git_quickly(bare):
    never = threading.Event()

    def stalled():
        yield b"00"  # half a pkt-line, then nothing
        never.wait(30)

    rpc = smart_http.start_service(bare, "git-upload-pack", body=stalled())
    started = time.monotonic()
    rpc.close()
    never.set()
    assert time.monotonic() - started < 10
    assert rpc.returncode is not None and not rpc.succeeded


@requires_git
def test_timeout_bounds_a_process(bare):
    rpc = smart_http.GitRpc(["sleep", "30"], env=smart_http.git_env(), timeout=0.5)
    started = time.monotonic()
    assert rpc.read_all() == b""
    assert rpc.timed_out and time.monotonic() - started < 10


def test_reap_stale_quarantines(tmp_path):
    objects = tmp_path / "r.git" / "objects"
    old, fresh, other = (objects / "tmp_objdir-incoming-old"), (objects / "tmp_objdir-incoming-new"), objects / "ab"
    for d in (old / "pack", fresh, other):
        d.mkdir(parents=True)
    (old / "pack" / "tmp_pack_x").write_bytes(b"x")
    past = time.time() - 7200
    os.utime(old, (past, past))
    os.utime(other, (past, past))
    assert reap_stale_quarantines(tmp_path / "r.git", older_than=3600) == 1
    assert not old.exists() and fresh.exists() and other.exists()


def test_quarantine_env_must_be_inside_the_repo(tmp_path):
    git_dir = tmp_path / "r.git"
    q = git_dir / "objects" / "tmp_objdir-incoming-abc"
    q.mkdir(parents=True)
    env = quarantine_env(git_dir, {"GIT_QUARANTINE_PATH": str(q), "GIT_OBJECT_DIRECTORY": str(q)})
    assert env["GIT_ALTERNATE_OBJECT_DIRECTORIES"] == str(git_dir / "objects")
    assert quarantine_env(git_dir, {}) == {}  # deletions only: nothing quarantined
    with pytest.raises(GitError):
        quarantine_env(git_dir, {"GIT_QUARANTINE_PATH": str(tmp_path), "GIT_OBJECT_DIRECTORY": str(tmp_path)})
    with pytest.raises(GitError):
        quarantine_env(git_dir, {"GIT_QUARANTINE_PATH": str(q)})


def test_parse_hook_input():
    zero, a = "0" * 40, "a" * 40
    (create, delete) = hooks.parse_hook_input(f"{zero} {a} refs/heads/x\n{a} {zero} refs/tags/t\n".encode())
    assert create.is_create and create.new == a and create.ref == "refs/heads/x"
    assert delete.is_delete and delete.old == a
    with pytest.raises(ValueError):
        hooks.parse_hook_input(b"garbage\n")


def _run_hook(name: str, env: dict[str, str], stdin: bytes, server: hooks.HookServer | None):
    proc = subprocess.Popen([sys.executable, "-I", "-S", str(Path(hooks.__file__)), name], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdin.write(stdin)
    proc.stdin.close()
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        if server is not None:
            import select

            if select.select([server], [], [], 0.05)[0]:
                server.handle_ready()
        else:
            time.sleep(0.05)
    proc.wait(5)
    return proc.returncode, proc.stderr.read().decode()


def test_hook_bridge_round_trip():
    seen = []

    def handler(request: hooks.HookRequest) -> hooks.HookReply:
        seen.append(request)
        return hooks.HookReply(request.hook == "post-receive", "policy says no\n")

    server = hooks.HookServer(handler)
    try:
        line = f"{'0' * 40} {'b' * 40} refs/heads/main\n".encode()
        env = {**server.env, "GIT_QUARANTINE_PATH": "/q", "GIT_OBJECT_DIRECTORY": "/q", "GIT_DIR": "/ignored"}
        rc, err = _run_hook("pre-receive", env, line, server)
        assert rc == 1 and "policy says no" in err
        (request,) = seen
        assert request.hook == "pre-receive"
        assert request.updates == [hooks.RefUpdate(ref="refs/heads/main", old=None, new="b" * 40)]
        assert request.env == {"GIT_QUARANTINE_PATH": "/q", "GIT_OBJECT_DIRECTORY": "/q"}
        assert _run_hook("post-receive", env, line, server)[0] == 0

        # A wrong nonce is not heard; the hook fails closed.
        rc, err = _run_hook("pre-receive", {**env, hooks.ENV_NONCE: "0" * 32}, line, server)
        assert rc == 1 and "authentication failed" in err
        assert len(seen) == 2
    finally:
        server.close()
    assert not Path(server.path).exists()
    # Without the bridge (a receive-pack not started by the hub), pre-receive refuses.
    rc, err = _run_hook("pre-receive", {k: v for k, v in env.items() if not k.startswith("HUB_")}, line, None)
    assert rc == 1 and "only accepted through the hub" in err
    # The bridge is gone (its web worker died): refused too.
    rc, err = _run_hook("pre-receive", env, line, None)
    assert rc == 1 and "nothing was changed" in err


def test_hooks_must_be_executable(tmp_path, monkeypatch):
    assert hooks.hooks_installed()  # the checkout's own hook scripts
    for name in hooks.HOOK_NAMES:
        (tmp_path / name).write_text("#!/bin/sh\n")
    monkeypatch.setattr(hooks, "HOOKS_DIR", tmp_path)
    assert not hooks.hooks_installed()  # git would silently skip them: pushes must be refused
