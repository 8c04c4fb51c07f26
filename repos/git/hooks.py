"""The bridge between `git receive-pack`'s hooks and the web request that runs the push.

Instead of a hook script per repository (and a Django start-up per push), every
receive-pack we spawn gets `core.hooksPath` pointing at `hook_scripts/` in this package.
Those scripts run this file as a program (`python -I -S hooks.py pre-receive`, standard
library only, ~20 ms) which forwards the hook's input to a Unix socket served by the web
request that spawned receive-pack (`HookServer`, a side channel of `smart_http.GitRpc`),
waits for the verdict, prints its message (git shows it as `remote:` lines) and exits with
its status. The policy itself therefore runs in the web process, with the database, the
request's user and the repository lock at hand.

Fail closed: without the bridge (a receive-pack run by hand with our hooks, a web worker
that died mid-push), the pre-receive hook rejects the push.

The socket lives in a private (0700) directory and every request must carry a random nonce
handed to receive-pack in its environment, so no other local process can answer or inject.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HOOKS_DIR = Path(__file__).resolve().with_name("hook_scripts")
HOOK_NAMES = ("pre-receive", "post-receive")

ENV_SOCKET = "HUB_HOOK_SOCKET"
ENV_NONCE = "HUB_HOOK_NONCE"
ENV_PYTHON = "HUB_HOOK_PYTHON"
ENV_CLIENT = "HUB_HOOK_CLIENT"
# What receive-pack tells a pre-receive hook about its quarantine (man git-receive-pack).
FORWARDED_ENV = ("GIT_QUARANTINE_PATH", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES")

ZERO_SHA = "0" * 40
MAX_REQUEST_BYTES = 32 * 1024 * 1024
# The verdict may wait for the repository lock and a policy scan of a large push.
CLIENT_TIMEOUT = 900.0
SERVER_READ_TIMEOUT = 60.0
NOT_CONNECTED_MESSAGE = "Pushes to this repository are only accepted through the hub.\n"


def hooks_installed() -> bool:
    """Whether git will run our hooks. git silently skips a hook file that is not executable
    (a checkout that lost its modes), which would let pushes bypass the policy entirely."""
    return all(os.access(HOOKS_DIR / name, os.X_OK) for name in HOOK_NAMES)


@dataclass(frozen=True)
class RefUpdate:
    """One line of a pre-/post-receive hook's input. `old`/`new` are None for create/delete."""

    ref: str
    old: str | None
    new: str | None

    @classmethod
    def from_shas(cls, old: str, new: str, ref: str) -> RefUpdate:
        return cls(ref=ref, old=None if old == ZERO_SHA else old, new=None if new == ZERO_SHA else new)

    @property
    def is_create(self) -> bool:
        return self.old is None and self.new is not None

    @property
    def is_delete(self) -> bool:
        return self.new is None

    def to_json(self) -> list[str]:
        return [self.old or ZERO_SHA, self.new or ZERO_SHA, self.ref]


@dataclass(frozen=True)
class HookRequest:
    hook: str
    updates: list[RefUpdate]
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HookReply:
    ok: bool
    message: str = ""


def parse_hook_input(data: bytes) -> list[RefUpdate]:
    """Parse `<old> <new> <ref>` lines. Ref names are bytes to git; undecodable ones are kept
    with surrogate escapes so that validation (not this parser) refuses them."""
    updates = []
    for line in data.decode("utf-8", "surrogateescape").splitlines():
        parts = line.split(" ", 2)
        if len(parts) != 3:
            raise ValueError(f"malformed hook input line: {line!r}")
        updates.append(RefUpdate.from_shas(*parts))
    return updates


# --------------------------------------------------------------------------- server side


class HookServer:
    """Answers the hook programs of one receive-pack run with `handler`.

    Serve it from the thread that handles the push (`GitRpc(side_channels=[server])`); the
    handler then runs in that thread, one hook at a time. `env` must be added to the
    environment of the receive-pack process.
    """

    def __init__(self, handler: Callable[[HookRequest], HookReply], *, python: str | None = None,
                 tmp_dir: str | None = None) -> None:
        self._handler = handler
        self._nonce = secrets.token_hex(16)
        # Short base directory: Unix socket paths are limited to ~107 bytes.
        self._dir = tempfile.mkdtemp(prefix="hub-hook-", dir=tmp_dir)
        os.chmod(self._dir, 0o700)
        self.path = os.path.join(self._dir, "s")
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._sock.bind(self.path)
            self._sock.listen(8)
            self._sock.setblocking(False)
        except BaseException:
            self._sock.close()
            shutil.rmtree(self._dir, ignore_errors=True)
            raise
        self.env = {
            ENV_SOCKET: self.path,
            ENV_NONCE: self._nonce,
            ENV_PYTHON: python or sys.executable,
            ENV_CLIENT: os.fspath(Path(__file__).resolve()),
        }
        self.calls: list[str] = []

    def fileno(self) -> int:
        return self._sock.fileno()

    def handle_ready(self) -> None:
        """Accept and answer one hook connection (called when the socket is readable)."""
        try:
            conn, _ = self._sock.accept()
        except (BlockingIOError, InterruptedError):
            return
        with conn:
            conn.setblocking(True)
            conn.settimeout(SERVER_READ_TIMEOUT)
            try:
                request = self._read_request(conn)
            except (OSError, ValueError):
                return  # the hook sees a closed connection and fails closed
            if request is None:
                reply = HookReply(False, "Hook authentication failed.\n")
            else:
                self.calls.append(request.hook)
                reply = self._handler(request)
            with contextlib.suppress(OSError):
                conn.sendall(json.dumps({"ok": reply.ok, "message": reply.message}).encode())

    def _read_request(self, conn: socket.socket) -> HookRequest | None:
        buf = bytearray()
        while True:
            data = conn.recv(65536)
            if not data:
                break
            buf += data
            if len(buf) > MAX_REQUEST_BYTES:
                raise ValueError("hook request too large")
        payload = json.loads(bytes(buf).decode("utf-8"))
        if not isinstance(payload, dict) or not secrets.compare_digest(str(payload.get("nonce", "")), self._nonce):
            return None
        hook = payload.get("hook")
        if hook not in HOOK_NAMES:
            raise ValueError(f"unknown hook {hook!r}")
        updates = [RefUpdate.from_shas(*(str(x) for x in item)) for item in payload.get("updates", [])
                   if isinstance(item, list) and len(item) == 3]
        env = {k: str(v) for k, v in (payload.get("env") or {}).items() if k in FORWARDED_ENV}
        return HookRequest(hook=hook, updates=updates, env=env)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()
        shutil.rmtree(self._dir, ignore_errors=True)


# --------------------------------------------------------------------------- hook side


def run_hook(hook: str) -> int:
    """The hook program: forward stdin to the bridge, print the verdict, return the status."""
    data = sys.stdin.buffer.read()
    path = os.environ.get(ENV_SOCKET)
    nonce = os.environ.get(ENV_NONCE)
    if not path or not nonce:
        if hook == "pre-receive":
            sys.stderr.write(NOT_CONNECTED_MESSAGE)
            return 1
        return 0
    try:
        updates = [u.to_json() for u in parse_hook_input(data)]
        request = json.dumps({
            "nonce": nonce, "hook": hook, "updates": updates,
            "env": {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ},
        }).encode()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(CLIENT_TIMEOUT)
            sock.connect(path)
            sock.sendall(request)
            sock.shutdown(socket.SHUT_WR)
            chunks = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        reply = json.loads(b"".join(chunks).decode("utf-8"))
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"The hub could not check this push ({exc.__class__.__name__}); nothing was changed.\n")
        return 1
    message = str(reply.get("message") or "")
    if message:
        sys.stderr.write(message if message.endswith("\n") else message + "\n")
    return 0 if reply.get("ok") is True else 1


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in HOOK_NAMES:
        sys.stderr.write("usage: hooks.py pre-receive|post-receive\n")
        sys.exit(2)
    sys.exit(run_hook(sys.argv[1]))
