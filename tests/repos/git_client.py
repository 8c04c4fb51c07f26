"""Helpers for driving the real `git` and `git-lfs` binaries against the live hub (the fixtures
built on them, `git_env`, `work` and `slow_proxy`, are in tests/repos/conftest.py and
tests/repos/transport/conftest.py)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

GIT_TIMEOUT = 120


def _has_git_lfs() -> bool:
    if shutil.which("git") is None:
        return False
    try:
        return subprocess.run(["git", "lfs", "version"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


HAS_GIT = shutil.which("git") is not None
HAS_GIT_LFS = _has_git_lfs()
requires_git = pytest.mark.skipif(not HAS_GIT, reason="the git binary is not installed")
requires_git_lfs = pytest.mark.skipif(not HAS_GIT_LFS, reason="git-lfs is not installed")


def run_git(*args: str, cwd: Path | str | None = None, env: dict[str, str] | None = None, check: bool = True,
            timeout: float = GIT_TIMEOUT, input: bytes | None = None) -> subprocess.CompletedProcess:
    """Run git and return the completed process (text output); raise with its output on failure."""
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, timeout=timeout, input=input)
    result = subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode("utf-8", "replace"),
                                         proc.stderr.decode("utf-8", "replace"))
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def client_git_env(home: Path) -> dict[str, str]:
    """An isolated git client: its own HOME, no system config, never a prompt."""
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "HF_"))}
    env.update({
        "HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "",
        "SSH_ASKPASS": "", "GIT_AUTHOR_NAME": "Tester", "GIT_AUTHOR_EMAIL": "tester@example.com",
        "GIT_COMMITTER_NAME": "Tester", "GIT_COMMITTER_EMAIL": "tester@example.com",
        "GIT_LFS_SKIP_PUSH_LOCKS_VERIFY": "0",
    })
    run_git("config", "--global", "init.defaultBranch", "main", env=env)
    run_git("config", "--global", "protocol.version", "2", env=env)
    if HAS_GIT_LFS:
        run_git("lfs", "install", "--skip-repo", env=env)
    return env


@dataclass
class HubRepo:
    repo_id: str
    repo_type: str
    git_dir: Path

    @property
    def url_path(self) -> str:
        return {"model": "", "dataset": "datasets/", "space": "spaces/"}[self.repo_type] + self.repo_id


_PROVISION = """
import json, sys
from accounts.models import User
from accounts.services.users import user_create
from accounts.services.tokens import token_create
from guardian.shortcuts import assign_perm
from repos.models import Repository
from repos.services.repos import repo_create
spec = json.loads(SPEC)
out = {"tokens": {}, "read_tokens": {}, "repos": {}}
for name in spec["users"]:
    user = User.objects.filter(username=name).first() or user_create(
        username=name, password=name + "-Pa55word!", email=name + "@example.com")
    out["tokens"][name] = token_create(user=user, name="git-tests", role="write")[1]
for name in spec["read_tokens"]:
    out["read_tokens"][name] = token_create(user=User.objects.get(username=name), name="ro", role="read")[1]
for r in spec["repos"]:
    ns, name = r["id"].split("/")
    repo = repo_create(user=User.objects.get(username=ns), namespace=ns, name=name,
                       repo_type=r["type"], private=r["private"])
    out["repos"][r["id"]] = str(repo.git_dir)
for repo_id, repo_type, username, perm in spec["grants"]:
    ns, name = repo_id.split("/")
    assign_perm(perm, User.objects.get(username=username),
                Repository.objects.get(namespace=ns, name=name, repo_type=repo_type))
exec(EXTRA)
print(json.dumps(out))
"""


@dataclass
class Provisioned:
    tokens: dict[str, str]
    read_tokens: dict[str, str]
    repos: dict[str, HubRepo]


def provision(live_hub, *, users: list[str] = (), repos: list[tuple] = (), read_tokens: list[str] = (),
              grants: list[tuple] = (), extra: str = "") -> Provisioned:
    """Create users (with write tokens), repos and grants in ONE server-side shell call
    (each manage command costs a Django start-up).

    `repos`: (owner, name, private, repo_type) tuples - name None for a random one.
    `grants`: (repo id, username, "read_repo"|"write_repo"|"admin_repo"); the repo may be one
    created by this same call (give it a name, see `unique`).
    `extra`: more Python run in the same shell afterwards (Django models importable there).
    Users already created in this session are reused (their token is cached on live_hub).
    """
    new_users = [u for u in dict.fromkeys(list(users) + [r[0] for r in repos]) if u not in live_hub.tokens]
    repo_specs = []
    for owner, name, private, repo_type in repos:
        repo_specs.append({"id": f"{owner}/{name or 'r' + uuid.uuid4().hex[:10]}", "private": bool(private),
                           "type": repo_type})
    spec = {"users": new_users, "read_tokens": list(read_tokens), "repos": repo_specs,
            "grants": [(rid, next((r["type"] for r in repo_specs if r["id"] == rid), "model"), u, p)
                       for rid, u, p in grants]}
    code = f"SPEC = {json.dumps(json.dumps(spec))}\nEXTRA = {json.dumps(extra)}\n" + _PROVISION
    out = live_hub.manage("shell", "-c", code).stdout.strip().splitlines()[-1]
    data = json.loads(out)
    live_hub.tokens.update(data["tokens"])
    hub_repos = {}
    for r in repo_specs:
        hub_repos[r["id"]] = HubRepo(repo_id=r["id"], repo_type=r["type"], git_dir=Path(data["repos"][r["id"]]))
    return Provisioned(tokens={u: live_hub.tokens[u] for u in users}, read_tokens=data["read_tokens"],
                       repos=hub_repos)


def unique(prefix: str = "r") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_repo(live_hub, owner: str, name: str | None = None, *, private: bool = False,
                repo_type: str = "model") -> HubRepo:
    """Create one repository server-side (and its owner if needed)."""
    return next(iter(provision(live_hub, repos=[(owner, name, private, repo_type)]).repos.values()))


def hub_shell_json(live_hub, code: str):
    """Run Python in the hub's environment; the last stdout line is parsed as JSON."""
    out = live_hub.manage("shell", "-c", code).stdout.strip().splitlines()
    return json.loads(out[-1])


def remote_url(live_hub, repo: HubRepo, token: str | None = None, *, user: str = "hf_user", suffix: str = "") -> str:
    base = live_hub.url
    if token:
        scheme, rest = base.split("://", 1)
        base = f"{scheme}://{quote(user)}:{quote(token)}@{rest}"
    return f"{base}/{repo.url_path}{suffix}"


def server_refs(repo: HubRepo) -> dict[str, str]:
    out = run_git("--git-dir", str(repo.git_dir), "for-each-ref", "--format=%(refname) %(objectname)").stdout
    return dict(tuple(line.split(" ", 1)) for line in out.splitlines() if line)


def server_objects(repo: HubRepo) -> set[str]:
    """Every object id in the server repository (loose and packed)."""
    out = run_git("--git-dir", str(repo.git_dir), "cat-file", "--batch-all-objects",
                  "--batch-check=%(objectname)").stdout
    return set(out.split())


def leftovers(repo: HubRepo) -> list[str]:
    """Quarantine directories, lock files and temporary packs that a clean push never leaves."""
    found = []
    objects = repo.git_dir / "objects"
    for path in objects.iterdir():
        if path.name.startswith(("tmp_objdir", "incoming-")):
            found.append(str(path))
    for path in (repo.git_dir / "refs").rglob("*.lock"):
        found.append(str(path))
    for path in (objects / "pack").glob("tmp_*"):
        found.append(str(path))
    if (repo.git_dir / "packed-refs.lock").exists():
        found.append("packed-refs.lock")
    return found


class SlowProxy:
    """A TCP proxy to the hub that forwards client->server bytes at a bounded rate, so a push
    is still in flight when a test interrupts it. Counts the bytes sent upstream."""

    def __init__(self, target_port: int, *, rate: int = 512 * 1024) -> None:
        import socket
        import threading

        self._socket = socket
        self.target_port = target_port
        self.rate = rate
        self.uploaded = 0
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()
        self._conns: list = []

    def _accept(self) -> None:
        import threading

        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                continue
            upstream = self._socket.create_connection(("127.0.0.1", self.target_port))
            self._conns += [client, upstream]
            for src, dst, slow in ((client, upstream, True), (upstream, client, False)):
                t = threading.Thread(target=self._pipe, args=(src, dst, slow), daemon=True)
                t.start()
                self._threads.append(t)

    def _pipe(self, src, dst, slow: bool) -> None:
        import time

        chunk = 16 * 1024 if slow else 65536
        try:
            while not self._closed.is_set():
                data = src.recv(chunk)
                if not data:
                    break
                dst.sendall(data)
                if slow:
                    with self._lock:
                        self.uploaded += len(data)
                    time.sleep(len(data) / self.rate)
        except OSError:
            pass
        finally:
            # Close, not only shut down: unread data then makes the kernel reset the
            # connection, as it does for a server process that dies.
            for s in (src, dst):
                try:
                    s.shutdown(self._socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        for s in self._conns:
            # shutdown() first: it wakes the threads blocked in recv(), close() alone does not.
            try:
                s.shutdown(self._socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def receive_pack_pids(git_dir: Path) -> list[int]:
    """Processes running `git receive-pack` on `git_dir` (from /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"receive-pack" in argv and str(git_dir).encode() in argv:
            pids.append(int(entry.name))
    return pids


def parent_pid(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1])
