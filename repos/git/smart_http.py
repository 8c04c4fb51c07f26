"""git smart HTTP: `git upload-pack` / `git receive-pack --stateless-rpc`, streamed both ways.

Pure layer (no Django). The web view hands over the request body as an iterator of chunks
and returns `GitRpc` itself as the response body; a pack is never held in memory:

* the request body (read by `repos.git.http_body`) is copied into git's stdin by a feeder
  thread, chunk by chunk;
* git's stdout is read with `select` and yielded as it comes;
* "side channels" (the hook bridge of `repos.git.hooks`) are served from the same loop, so
  a hook callback runs in the thread that serves the request;
* closing the iterator (the client went away, the time bound passed) ends git: a
  receive-pack is first given the end of its input so that it fails and cleans up by itself
  (its quarantine guarantees nothing of the push lands), then git's process group is killed.

Every git invocation is an argv list; the only path on it is the repository's own git
directory (computed by `paths.storage_path`, never from user text). Git runs with a minimal
environment and without system/global config, so the server user's settings cannot change
what a push or fetch does.
"""
from __future__ import annotations

import os
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from repos.git.pack_cache import PackCacheSettings, hook_installed

SERVICES = ("git-upload-pack", "git-receive-pack")
CHUNK_SIZE = 64 * 1024
# A long clone or push over a slow link is legitimate; a process alive after this is not.
DEFAULT_TIMEOUT = 3600.0
# upload-pack gives up on a client that stops reading or writing for this long.
UPLOAD_PACK_IDLE_TIMEOUT = 600
_STDERR_KEEP = 64 * 1024
_KILL_GRACE = 5.0


class SmartHttpError(Exception):
    """The request cannot be served (an unknown service)."""


class SideChannel(Protocol):
    """Something `GitRpc` serves from its output loop while git runs."""

    def fileno(self) -> int: ...

    def handle_ready(self) -> None: ...


# --------------------------------------------------------------------------- pkt-line


def pkt_line(data: bytes) -> bytes:
    """One pkt-line: 4 hex digits of length (itself included), then the payload."""
    if len(data) > 65516:
        raise ValueError("pkt-line payload too long")
    return b"%04x" % (len(data) + 4) + data


FLUSH_PKT = b"0000"


def service_header(service: str) -> bytes:
    """The `# service=...` preamble smart HTTP puts before a v0/v1 ref advertisement."""
    return pkt_line(f"# service={service}\n".encode()) + FLUSH_PKT


def git_protocol(header: str | None) -> str | None:
    """The `GIT_PROTOCOL` value to pass to git for a `Git-Protocol` request header.

    Only the exact value clients send for protocol v2 is forwarded: the variable is parsed by
    git, and nothing else a client writes there has a meaning we want to enable.
    """
    if header is not None and header.strip() == "version=2":
        return "version=2"
    return None


# --------------------------------------------------------------------------- commands


def git_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A minimal environment for server-side git: no inherited GIT_* variables, no system
    or global config, no prompts."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "LANG": "C",
        "LC_ALL": "C",
        "HOME": os.environ.get("HOME", "/nonexistent"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
    }
    if extra:
        env.update(extra)
    return env


def upload_pack_config() -> dict[str, str]:
    # Filters make partial clones (`--filter=blob:none`) work; they only ever send less.
    return {"uploadpack.allowFilter": "true"}


def receive_pack_config(*, hooks_dir: Path, max_input_size: int = 0) -> dict[str, str]:
    """Configuration of every receive-pack: fsck of incoming objects (quarantined until the
    pre-receive hook accepts them), atomic pushes, and our hooks instead of the repo's own."""
    config = {
        "receive.fsckObjects": "true",
        "receive.advertiseAtomic": "true",
        "receive.advertisePushOptions": "false",
        # Fast-forward and deletion rules are per ref (protected default branch), so the
        # policy in the pre-receive hook decides, not these repository-wide switches.
        "receive.denyNonFastForwards": "false",
        "receive.denyDeletes": "false",
        "receive.denyCurrentBranch": "ignore",
        "core.hooksPath": os.fspath(hooks_dir),
    }
    if max_input_size > 0:
        config["receive.maxInputSize"] = str(max_input_size)
    return config


def git_argv(service: str, git_dir: Path, *, config: Mapping[str, str], advertise: bool = False,
             idle_timeout: int | None = None) -> list[str]:
    if service not in SERVICES:
        raise SmartHttpError(f"Unsupported service {service!r}")
    argv = ["git"]
    for key, value in config.items():
        argv += ["-c", f"{key}={value}"]
    argv += [service[len("git-"):], "--stateless-rpc"]
    if service == "git-upload-pack":
        # --strict: the directory must itself be a git dir (no `<dir>/.git` lookup).
        argv.append("--strict")
        if idle_timeout:
            argv.append(f"--timeout={int(idle_timeout)}")
    if advertise:
        argv.append("--advertise-refs")
    argv.append(os.fspath(git_dir))
    return argv


# --------------------------------------------------------------------------- the process


class GitRpc:
    """A running git service whose stdout is consumed by iterating this object.

    Iterate once. `close()` (called by WSGI servers on the response iterator, also when the
    client disconnected) stops everything; see there for how git is ended.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        body: Iterable[bytes] | None = None,
        prefix: bytes = b"",
        timeout: float = DEFAULT_TIMEOUT,
        side_channels: Sequence[SideChannel] = (),
        cwd: str | None = None,
        finish_on_close: bool = False,
        finish_grace: float = 60.0,
    ) -> None:
        self.argv = list(argv)
        self._prefix = prefix
        self._deadline = time.monotonic() + timeout
        self._side_channels = list(side_channels)
        self._finish_on_close = finish_on_close
        self._finish_grace = finish_grace
        self._stopped = threading.Event()
        self._closed = False
        self.returncode: int | None = None
        self.timed_out = False
        self.input_error: BaseException | None = None
        self._stderr = bytearray()
        self._proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.PIPE if body is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            cwd=cwd,
            close_fds=True,
            # Own process group: closing kills git and its children (index-pack, hooks).
            start_new_session=True,
        )
        self._threads = [threading.Thread(target=self._drain_stderr, name="git-stderr", daemon=True)]
        if body is not None:
            self._threads.append(threading.Thread(target=self._feed, args=(body,), name="git-stdin",
                                                  daemon=True))
        for thread in self._threads:
            thread.start()

    # -- threads

    def _feed(self, body: Iterable[bytes]) -> None:
        stdin = self._proc.stdin
        assert stdin is not None
        try:
            for chunk in body:
                if self._stopped.is_set():
                    break
                stdin.write(chunk)
        except (BrokenPipeError, ValueError):
            pass  # git exited (or we closed it) before reading everything
        except BaseException as exc:  # noqa: B036 - recorded for the caller, never re-raised in a thread
            # The client vanished or sent garbage: git sees a truncated stream and fails,
            # which (for receive-pack) means nothing of the push is kept.
            self.input_error = exc
        finally:
            self._close_pipe(stdin)

    def _drain_stderr(self) -> None:
        stderr = self._proc.stderr
        assert stderr is not None
        try:
            while True:
                # read1: whatever is there now, so a chatty hook's messages aren't held back.
                data = stderr.read1(CHUNK_SIZE)  # type: ignore[attr-defined]
                if not data:
                    return
                self._stderr += data
                if len(self._stderr) > _STDERR_KEEP:
                    del self._stderr[: len(self._stderr) - _STDERR_KEEP]
        except (OSError, ValueError):
            return  # closed under us at shutdown

    # -- output

    @property
    def stderr_text(self) -> str:
        return bytes(self._stderr).decode("utf-8", "replace")

    def __iter__(self) -> Iterator[bytes]:
        return self._iterate()

    def _iterate(self) -> Iterator[bytes]:
        try:
            if self._prefix:
                yield self._prefix
            yield from self._pump(self._deadline)
            if not self.timed_out:
                self._wait(max(0.0, self._deadline - time.monotonic()))
        finally:
            self.close()

    def _pump(self, deadline: float) -> Iterator[bytes]:
        """Yield git's stdout until EOF, serving the side channels meanwhile; stop (and set
        `timed_out`) at `deadline`."""
        stdout = self._proc.stdout
        if stdout is None or stdout.closed:
            return
        out_fd = stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(out_fd, selectors.EVENT_READ, None)
            for channel in self._side_channels:
                selector.register(channel.fileno(), selectors.EVENT_READ, channel)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.timed_out = True
                    return
                for key, _events in selector.select(timeout=min(remaining, 5.0)):
                    if key.data is None:
                        data = os.read(out_fd, CHUNK_SIZE)
                        if not data:
                            return
                        yield data
                    else:
                        key.data.handle_ready()

    def _wait(self, timeout: float) -> None:
        try:
            self.returncode = self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.timed_out = True

    def read_all(self) -> bytes:
        """The whole output (only for small ones, like a ref advertisement in tests)."""
        return b"".join(self)

    # -- shutdown

    def close(self) -> None:
        """Stop. With `finish_on_close`, git first gets the end of its input and a chance to
        finish by itself (its output read and discarded, hooks still served): a receive-pack
        cut off mid-pack then fails and removes its quarantine itself, which it does not do
        when it dies from a signal (SIGPIPE included). Then, or otherwise at once, git's
        process group is killed if it is still running."""
        if self._closed:
            return
        self._closed = True
        self._stopped.set()
        self._close_pipe(self._proc.stdin)
        if self._proc.poll() is None and self._finish_on_close:
            grace = min(self._deadline + _KILL_GRACE, time.monotonic() + self._finish_grace)
            for _discarded in self._pump(grace):
                pass
            try:
                self.returncode = self._proc.wait(max(0.0, grace - time.monotonic()) + 0.1)
            except subprocess.TimeoutExpired:
                pass
        self._close_pipe(self._proc.stdout)
        if self._proc.poll() is None:
            self._kill_group()
        else:
            self.returncode = self._proc.returncode
        for thread in self._threads:
            # The feeder may be stuck reading a silent client: it is a daemon thread that
            # dies with its next write, so it is not waited for long.
            thread.join(timeout=_KILL_GRACE if thread.name == "git-stderr" else 1.0)
        self._close_pipe(self._proc.stderr)

    @staticmethod
    def _close_pipe(pipe: object) -> None:
        close = getattr(pipe, "close", None)
        if close is not None:
            try:
                close()
            except (OSError, ValueError):
                pass  # the feeder thread may be writing to it right now

    def _kill_group(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self._proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.returncode = self._proc.wait(_KILL_GRACE)
                break
            except subprocess.TimeoutExpired:
                continue

    @property
    def succeeded(self) -> bool:
        return self.returncode == 0 and not self.timed_out and self.input_error is None


def start_service(
    git_dir: Path,
    service: str,
    *,
    advertise: bool = False,
    body: Iterable[bytes] | None = None,
    protocol: str | None = None,
    config: Mapping[str, str] | None = None,
    extra_env: Mapping[str, str] | None = None,
    side_channels: Sequence[SideChannel] = (),
    timeout: float = DEFAULT_TIMEOUT,
    pack_cache: PackCacheSettings | None = None,
) -> GitRpc:
    """Start `service` on `git_dir`: the ref advertisement (`advertise`) or one RPC exchange
    whose request is `body`.

    The advertisement of a v0/v1 exchange starts with the `# service=` header smart HTTP
    requires; protocol v2 (`protocol="version=2"`) has none. With `pack_cache`, an
    upload-pack RPC gets its packs from `repos.git.pack_cache`.
    """
    if config is None:
        config = upload_pack_config() if service == "git-upload-pack" else {}
    if service != "git-upload-pack":
        # receive-pack speaks v0 only; git clients fall back to it for pushes.
        protocol = None
    extra = dict(extra_env or {})
    if pack_cache is not None and service == "git-upload-pack" and not advertise and hook_installed():
        # On the command line: git ignores packObjectsHook in repository config.
        config = {**config, **pack_cache.git_config()}
        extra.update(pack_cache.env())
    if protocol:
        extra["GIT_PROTOCOL"] = protocol
    argv = git_argv(service, git_dir, config=config, advertise=advertise,
                    idle_timeout=UPLOAD_PACK_IDLE_TIMEOUT)
    prefix = service_header(service) if advertise and protocol != "version=2" else b""
    return GitRpc(argv, env=git_env(extra), body=None if advertise else body, prefix=prefix,
                  timeout=timeout, side_channels=side_channels,
                  # A receive-pack must be let finish (see GitRpc.close); an upload-pack whose
                  # client left is only wasting CPU.
                  finish_on_close=service == "git-receive-pack" and not advertise)
