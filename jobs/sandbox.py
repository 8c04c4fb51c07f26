"""Running a runner in a child process: no network, read-only inputs, limits, cancellation.

Pure process management (no Django, no Celery, no torch). The caller (the job task) passes
the runner name, host directories and callbacks; it gets back a ``SandboxOutcome`` whose
status is always one of succeeded / failed / cancelled / timed_out, with a reason a user can
read, so a job always ends in a visible final state.

How the child is confined (SECURITY.md T51, T52, T54):

* **bubblewrap** (``bwrap``; Debian package ``bubblewrap``): new network namespace (only a
  loopback of its own: nothing on the host or beyond is reachable), new PID, IPC and UTS
  namespaces, ``--die-with-parent``, ``--new-session`` and bwrap's ``no_new_privs``. The
  filesystem is built from nothing: ``/usr`` (and the ``/bin``, ``/lib`` links), the Python
  installation and virtualenv, and only the ``jobs`` and ``repos`` code packages (not the
  project root: the default data directory, with the secret key and every repository, lives
  there), all read-only; each input snapshot read-only at ``/job/in/<name>``; the output
  directory writable at ``/job/out``; a size-limited tmpfs at ``/tmp``; fresh ``/proc`` and
  ``/dev``. The environment is rebuilt from scratch (no secrets, offline Hugging Face flags).
* **rlimits** through ``prlimit`` (util-linux; set before exec, so no ``preexec_fn``, which is
  unsafe in a threaded worker): address space, CPU seconds, file size, processes, open files,
  no core dumps.
* **user**: run as root (as in our containers), bwrap needs no user namespace and the job is
  switched to an unprivileged uid (``setpriv``, default 65534 "nobody", all capabilities
  dropped). That is also what makes ``RLIMIT_NPROC`` count: the kernel never applies it to
  uid 0. Run as another user, bwrap creates a user namespace (``--unshare-user``,
  ``--disable-userns``) and the job keeps the worker's uid; then RLIMIT_NPROC counts all of
  that user's processes, so give job workers a dedicated user.
  Verified here (Debian 12, bwrap 0.8.0, root in a container): both paths work;
  ``user.max_user_namespaces`` > 0 is needed for the second.
* **wall clock and cancellation**: the parent polls ``is_cancelled`` and the deadline; a
  cancel first closes the control pipe (the runner's ``ctx.check()`` notices) and kills the
  process group with SIGKILL after ``cancel_grace_seconds``. Killing bwrap kills the PID
  namespace, and with it every process the job started, whatever session it moved to.
* **outputs are untrusted**: event lines are length-bounded, the result is re-validated
  (``RunResult.from_json``), the output directory is walked without following links
  (``scan_output_dir``) before the outcome says "succeeded".

``sandbox=False`` runs the same child without bubblewrap (rlimits, timeout and cancellation
still apply): only for trusted inputs, tests of the runners themselves, or machines where the
operator accepted the risk. Without bwrap and without that explicit choice, ``run_job``
refuses to start (``SandboxUnavailable``).

GPU: with ``device="cuda"`` the NVIDIA device nodes are bound in. CUDA reserves far more
virtual address space than it uses, so set ``memory_bytes=None`` on GPU nodes and bound memory
with the node's cgroup instead (RLIMIT_AS would make CUDA initialisation fail).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from jobs.runners.base import RunnerError, RunResult
from jobs.runners.outputs import OutputFile, scan_output_dir

SANDBOX_CODE = Path("/job/code")
SANDBOX_INPUTS = Path("/job/in")
SANDBOX_OUTPUT = Path("/job/out")
NOBODY = 65534

Status = Literal["succeeded", "failed", "cancelled", "timed_out"]
ProgressCallback = Callable[[float, int, Mapping[str, float]], None]


class SandboxError(Exception):
    """The job could not be started as asked (bad directories, unreadable inputs)."""


class SandboxUnavailable(SandboxError):
    """bubblewrap is missing or cannot create namespaces here; the message says what to do."""


@dataclass(frozen=True, kw_only=True)
class SandboxLimits:
    wall_seconds: float = 3600.0
    memory_bytes: int | None = 16 * 1024**3  # RLIMIT_AS; None on CUDA nodes (see module doc)
    cpu_seconds: int | None = 4 * 3600
    file_size_bytes: int | None = 8 * 1024**3
    max_processes: int | None = 512  # threads count too (torch starts one per core)
    open_files: int = 4096
    tmp_bytes: int = 1024**3  # the tmpfs at /tmp
    threads: int | None = None  # OMP/MKL threads; None: the library default
    cancel_grace_seconds: float = 3.0
    max_log_bytes: int = 1024**2  # raw stdout/stderr kept (the tail)
    max_event_bytes: int = 1024**2  # one event line
    max_output_files: int = 64
    max_output_bytes: int = 16 * 1024**3


@dataclass(frozen=True, kw_only=True)
class SandboxJob:
    runner: str  # a name in jobs.runners.entry.RUNNERS
    inputs: Mapping[str, Path]  # name -> host snapshot directory
    output_dir: Path  # host directory, existing and empty
    params: Mapping[str, Any] = field(default_factory=dict)
    device: str = "cpu"
    seed: int = 0


def _default_python() -> Path:
    # The virtualenv's own interpreter path (not the resolved binary): Python finds
    # pyvenv.cfg next to the path it was started as, so the venv works inside too.
    return Path(os.path.realpath(sys.prefix)) / "bin" / "python"


def _default_binds() -> tuple[Path, ...]:
    paths = {Path(os.path.realpath(p)) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    # Nested paths are covered by their parent's bind.
    return tuple(sorted(p for p in paths if not any(q != p and q in p.parents for q in paths)))


@dataclass(frozen=True, kw_only=True)
class SandboxRuntime:
    """Where things are on the host; the defaults describe the running interpreter."""

    python: Path = field(default_factory=_default_python)
    python_binds: tuple[Path, ...] = field(default_factory=_default_binds)
    code_root: Path = Path(__file__).resolve().parent.parent
    packages: tuple[str, ...] = ("jobs", "repos")
    bwrap: str = "bwrap"
    prlimit: str = "prlimit"
    setpriv: str = "setpriv"
    run_as_uid: int = NOBODY  # used when the parent is root
    run_as_gid: int = NOBODY


@dataclass(frozen=True, kw_only=True)
class SandboxOutcome:
    status: Status
    reason: str | None
    result: RunResult | None
    files: tuple[OutputFile, ...] = ()
    log: str = ""
    exit_code: int | None = None
    seconds: float = 0.0
    sandboxed: bool = True


# ---------------------------------------------------------------------------------------------
# Availability


_AVAILABLE: dict[str, str | None] = {}


def sandbox_problem(runtime: SandboxRuntime | None = None) -> str | None:
    """None when bubblewrap works here, else the reason (cached per bwrap path)."""
    runtime = runtime or SandboxRuntime()
    if runtime.bwrap in _AVAILABLE:
        return _AVAILABLE[runtime.bwrap]
    problem: str | None = None
    path = shutil.which(runtime.bwrap)
    if path is None:
        problem = (
            f"bubblewrap ({runtime.bwrap}) is not installed; install it (apt-get install -y bubblewrap) "
            "or pass sandbox=False to run jobs unsandboxed (trusted inputs only)"
        )
    else:
        argv = [path, *_namespace_args(), *_base_fs_args(), "--", "/usr/bin/true"]
        try:
            probe = subprocess.run(argv, capture_output=True, timeout=30, env={"PATH": "/usr/bin:/bin"})
        except (OSError, subprocess.TimeoutExpired) as exc:
            problem = f"bubblewrap could not be started: {exc}"
        else:
            if probe.returncode != 0:
                detail = probe.stderr.decode("utf-8", "replace").strip()[:300]
                problem = (
                    f"bubblewrap cannot create the job sandbox here ({detail or f'exit {probe.returncode}'}); "
                    "unprivileged user namespaces may be disabled (sysctl user.max_user_namespaces, "
                    "kernel.unprivileged_userns_clone) or the container forbids namespaces"
                )
    _AVAILABLE[runtime.bwrap] = problem
    return problem


def _is_root() -> bool:
    return os.geteuid() == 0


def _namespace_args() -> list[str]:
    args = ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if not _is_root():
        args += ["--unshare-user", "--disable-userns"]
    return args + ["--die-with-parent", "--new-session", "--hostname", "job"]


def _base_fs_args() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib64", "lib32", "libx32"):
        host = Path("/") / name
        if host.is_symlink():
            args += ["--symlink", os.readlink(host), f"/{name}"]
        elif host.is_dir():
            args += ["--ro-bind", str(host), f"/{name}"]
    args += ["--dir", "/etc", "--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    return args + ["--proc", "/proc", "--dev", "/dev"]


# ---------------------------------------------------------------------------------------------
# Building the command


def _mkdirs(target: Path, made: set[Path]) -> list[str]:
    """bwrap creates missing parents of a mount point with mode 0700, which an unprivileged
    job cannot traverse; create them explicitly with 0755."""
    args: list[str] = []
    for parent in reversed(target.parents):
        if parent == Path("/") or parent in made:
            continue
        made.add(parent)
        args += ["--perms", "0755", "--dir", str(parent)]
    return args


def _limit_args(runtime: SandboxRuntime, limits: SandboxLimits) -> list[str]:
    args = [runtime.prlimit, "--core=0", f"--nofile={limits.open_files}"]
    if limits.memory_bytes is not None:
        args.append(f"--as={limits.memory_bytes}")
    if limits.cpu_seconds is not None:
        # soft < hard: SIGXCPU first (reported as "CPU time limit"), SIGKILL 5 s later.
        args.append(f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + 5}")
    if limits.file_size_bytes is not None:
        args.append(f"--fsize={limits.file_size_bytes}")
    if limits.max_processes is not None:
        args.append(f"--nproc={limits.max_processes}")
    return args + ["--"]


def _child_env(limits: SandboxLimits, *, home: str) -> dict[str, str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": "/tmp",
        "USER": "job",
        "LOGNAME": "job",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONUNBUFFERED": "1",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "DISABLE_SAFETENSORS_CONVERSION": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "HF_HOME": f"{home}/hf",
        "MPLCONFIGDIR": f"{home}/mpl",
    }
    if limits.threads is not None:
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[name] = str(limits.threads)
    return env


def _sandbox_args(job: SandboxJob, runtime: SandboxRuntime, limits: SandboxLimits) -> list[str]:
    bwrap = shutil.which(runtime.bwrap) or runtime.bwrap
    args = [bwrap, *_namespace_args(), *_base_fs_args()]
    # /dev/shm: POSIX semaphores and shared memory (joblib, torch data loaders) need it.
    args += ["--perms", "1777", "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp"]
    args += ["--perms", "1777", "--size", str(min(limits.tmp_bytes, 256 * 1024**2)), "--tmpfs", "/dev/shm"]
    made: set[Path] = {Path("/usr"), Path("/etc"), Path("/tmp"), Path("/proc"), Path("/dev")}
    for path in runtime.python_binds:
        args += _mkdirs(path, made) + ["--ro-bind", str(path), str(path)]
        made.add(path)
    for package in runtime.packages:
        target = SANDBOX_CODE / package
        args += _mkdirs(target, made) + ["--ro-bind", str(runtime.code_root / package), str(target)]
    for name, host in sorted(job.inputs.items()):
        target = SANDBOX_INPUTS / name
        args += _mkdirs(target, made) + ["--ro-bind", str(host), str(target)]
    args += _mkdirs(SANDBOX_OUTPUT, made) + ["--bind", str(job.output_dir), str(SANDBOX_OUTPUT)]
    if job.device.startswith("cuda"):
        for node in sorted(glob.glob("/dev/nvidia*")):
            args += ["--dev-bind-try", node, node]
    args += ["--chdir", str(SANDBOX_CODE), "--"]
    if _is_root():
        args += [
            runtime.setpriv,
            f"--reuid={runtime.run_as_uid}",
            f"--regid={runtime.run_as_gid}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--",
        ]
    return args


def _spec(job: SandboxJob, *, sandbox: bool, limits: SandboxLimits, events_fd: int, control_fd: int) -> str:
    if sandbox:
        inputs = {name: str(SANDBOX_INPUTS / name) for name in job.inputs}
        output = str(SANDBOX_OUTPUT)
    else:
        inputs = {name: str(path) for name, path in job.inputs.items()}
        output = str(job.output_dir)
    return json.dumps(
        {
            "runner": job.runner,
            "inputs": inputs,
            "output_dir": output,
            "params": dict(job.params),
            "device": job.device,
            "seed": job.seed,
            # The runner's own deadline comes a little before the kill, so it can stop cleanly.
            "time_budget_s": max(1.0, limits.wall_seconds - max(2.0, limits.cancel_grace_seconds)),
            "events_fd": events_fd,
            "control_fd": control_fd,
        }
    )


def _check_dirs(job: SandboxJob, runtime: SandboxRuntime, *, switch_user: bool) -> None:
    out = job.output_dir
    if out.is_symlink() or not out.is_dir():
        raise SandboxError(f"The output directory {out} does not exist")
    if any(out.iterdir()):
        raise SandboxError(f"The output directory {out} is not empty")
    for name, path in job.inputs.items():
        if not name.isidentifier():
            raise SandboxError(f"Input name {name!r} must be an identifier")
        if path.is_symlink() or not path.is_dir():
            raise SandboxError(f"Input {name!r} ({path}) is not a directory")
        if switch_user:
            _check_readable(name, path, runtime.run_as_uid, runtime.run_as_gid)


def _check_readable(name: str, root: Path, uid: int, gid: int, limit: int = 100_000) -> None:
    """The job runs as another uid: every input file must be readable (and directory
    traversable) by it, or the runner would fail later with a confusing error."""
    st = root.stat()
    bits = (st.st_mode >> 6) if st.st_uid == uid else (st.st_mode >> 3) if st.st_gid == gid else st.st_mode
    if bits & 0o5 != 0o5:
        raise SandboxError(f"Input {name!r}: the directory itself is not readable by the sandbox user (uid {uid})")
    seen = 0
    stack = [root]
    while stack:
        directory = stack.pop()
        for entry in os.scandir(directory):
            seen += 1
            if seen > limit:
                return
            st = entry.stat(follow_symlinks=False)
            need = 0o5 if stat.S_ISDIR(st.st_mode) else 0o4
            bits = (st.st_mode >> 6) if st.st_uid == uid else (st.st_mode >> 3) if st.st_gid == gid else st.st_mode
            if stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode):
                if bits & need != need:
                    rel = Path(entry.path).relative_to(root)
                    raise SandboxError(
                        f"Input {name!r}: {rel} is not readable by the sandbox user (uid {uid}); "
                        "write snapshots world-readable (umask 022)"
                    )
            if stat.S_ISDIR(st.st_mode):
                stack.append(Path(entry.path))


# ---------------------------------------------------------------------------------------------
# Running


class _Lines:
    """Splits a byte stream into bounded lines; an over-long line is cut and flagged."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.buffer = b""
        self.skipping = False

    def feed(self, data: bytes) -> list[tuple[bytes, bool]]:
        out: list[tuple[bytes, bool]] = []
        self.buffer += data
        while True:
            nl = self.buffer.find(b"\n")
            if nl < 0:
                if len(self.buffer) > self.limit:
                    if not self.skipping:
                        out.append((self.buffer[: self.limit], True))
                    self.skipping = True
                    self.buffer = b""
                return out
            line, self.buffer = self.buffer[:nl], self.buffer[nl + 1 :]
            if self.skipping:
                self.skipping = False
                continue
            out.append((line, len(line) > self.limit))


class _Tail:
    """The last ``limit`` bytes of the raw log."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.data = bytearray()
        self.dropped = False

    def add(self, chunk: bytes) -> None:
        self.data += chunk
        if len(self.data) > self.limit:
            del self.data[: len(self.data) - self.limit]
            self.dropped = True

    def text(self) -> str:
        text = self.data.decode("utf-8", "replace")
        return ("[... earlier output dropped ...]\n" + text) if self.dropped else text


def run_job(
    job: SandboxJob,
    *,
    limits: SandboxLimits = SandboxLimits(),
    on_progress: ProgressCallback | None = None,
    on_log: Callable[[str], None] | None = None,
    is_cancelled: Callable[[], bool] = lambda: False,
    sandbox: bool = True,
    runtime: SandboxRuntime | None = None,
    clock: Callable[[], float] = time.monotonic,
    poll_seconds: float = 0.1,
) -> SandboxOutcome:
    """Run ``job`` to a final state. Callbacks run in this thread: ``on_progress`` and
    ``on_log`` for the runner's events (keep them quick), ``is_cancelled`` every
    ``poll_seconds``. Raises ``SandboxUnavailable``/``SandboxError`` only before the child
    starts; once started, every ending (including exceptions from the callbacks, which are
    re-raised after the child is killed) leaves no process behind."""
    runtime = runtime or SandboxRuntime()
    if sandbox:
        problem = sandbox_problem(runtime)
        if problem:
            raise SandboxUnavailable(problem)
    switch_user = sandbox and _is_root()
    _check_dirs(job, runtime, switch_user=switch_user)
    if switch_user:
        os.chown(job.output_dir, runtime.run_as_uid, runtime.run_as_gid)

    events_r, events_w = os.pipe()
    control_r, control_w = os.pipe()
    spec = _spec(job, sandbox=sandbox, limits=limits, events_fd=events_w, control_fd=control_r)
    command = [str(runtime.python), "-E", "-s", "-m", "jobs.runners.entry", spec]
    if sandbox:
        argv = _limit_args(runtime, limits) + _sandbox_args(job, runtime, limits) + command
        env = _child_env(limits, home="/tmp")
        cwd = "/"
    else:
        argv = _limit_args(runtime, limits) + command
        env = _child_env(limits, home=str(job.output_dir.parent))
        cwd = str(runtime.code_root)
    started = clock()
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=(events_w, control_r),
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    except OSError as exc:
        for fd in (events_r, events_w, control_r, control_w):
            os.close(fd)
        raise SandboxError(f"The job process could not be started: {exc}") from None
    os.close(events_w)
    os.close(control_r)
    assert proc.stdout is not None
    watcher = _Watcher(proc, events_r, control_w, limits, on_progress, on_log)
    try:
        watcher.watch(started, is_cancelled, clock, poll_seconds)
    finally:
        watcher.kill()
        proc.wait()
        watcher.close()
    return watcher.outcome(job, limits, clock() - started, sandboxed=sandbox)


class _Watcher:
    def __init__(
        self,
        proc: subprocess.Popen[bytes],
        events_fd: int,
        control_fd: int,
        limits: SandboxLimits,
        on_progress: ProgressCallback | None,
        on_log: Callable[[str], None] | None,
    ) -> None:
        assert proc.stdout is not None
        self.proc = proc
        self.limits = limits
        self.on_progress = on_progress
        self.on_log = on_log
        self.events_fd = events_fd
        self.log_fd = proc.stdout.fileno()
        self.control_fd: int | None = control_fd
        self.selector = selectors.DefaultSelector()
        self.selector.register(events_fd, selectors.EVENT_READ)
        self.selector.register(self.log_fd, selectors.EVENT_READ)
        self.event_lines = _Lines(limits.max_event_bytes)
        self.tail = _Tail(limits.max_log_bytes)
        self.result: Any = None
        self.error: tuple[str, str] | None = None
        self.protocol_errors = 0
        self.cancelled = False
        self.timed_out = False
        self.killed = False

    def watch(self, started: float, is_cancelled: Callable[[], bool], clock: Callable[[], float], poll: float) -> None:
        deadline = started + self.limits.wall_seconds
        cancel_at: float | None = None
        exited_at: float | None = None
        while True:
            if self.selector.get_map():
                for key, _ in self.selector.select(poll):
                    self._read(int(key.fd))
            else:  # the child closed both pipes but may still run: keep enforcing limits
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=poll)
            now = clock()
            if self.proc.poll() is not None:
                # Stragglers (possible only without the sandbox) may hold the pipes open:
                # stop reading shortly after the main process is gone.
                exited_at = exited_at if exited_at is not None else now
                if not self.selector.get_map() or now - exited_at > 1.0:
                    break
                continue
            if not self.cancelled and is_cancelled():
                self.cancelled = True
                cancel_at = now
                self._close_control()  # EOF on the child's control fd: ctx.check() raises
            if cancel_at is not None and now - cancel_at >= self.limits.cancel_grace_seconds:
                self.kill()
            if now >= deadline and not self.killed:
                self.timed_out = True
                self.kill()

    def _read(self, fd: int) -> None:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if not data:
            self.selector.unregister(fd)
            return
        if fd == self.log_fd:
            self.tail.add(data)
            return
        for line, cut in self.event_lines.feed(data):
            if cut:
                self.protocol_errors += 1
                continue
            self._event(line)

    def _event(self, line: bytes) -> None:
        try:
            event = json.loads(line)
            kind = event["event"]
        except (ValueError, KeyError, TypeError, RecursionError):
            self.protocol_errors += 1
            return
        if kind == "progress" and self.on_progress is not None:
            fraction, step, metrics = event.get("fraction"), event.get("step"), event.get("metrics")
            if isinstance(fraction, int | float) and isinstance(step, int) and isinstance(metrics, dict):
                clean = {str(k)[:100]: float(v) for k, v in list(metrics.items())[:50] if isinstance(v, int | float)}
                self.on_progress(min(1.0, max(0.0, float(fraction))), step, clean)
        elif kind == "log" and self.on_log is not None:
            self.on_log(str(event.get("line", ""))[:4000])
        elif kind == "result" and self.result is None and self.error is None:
            self.result = event.get("result")
        elif kind == "error" and self.result is None and self.error is None:
            self.error = (str(event.get("kind", "internal"))[:40], str(event.get("reason", ""))[:2000])

    def _close_control(self) -> None:
        if self.control_fd is not None:
            os.close(self.control_fd)
            self.control_fd = None

    def kill(self) -> None:
        """SIGKILL the whole process group: prlimit/bwrap (or the plain child) and, without the
        sandbox, whatever the child started in the same group. With the sandbox, the death of
        bwrap takes its PID namespace, and every process in it, along."""
        if self.proc.poll() is None:
            self.killed = True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def close(self) -> None:
        self._close_control()
        self.selector.close()
        os.close(self.events_fd)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def outcome(self, job: SandboxJob, limits: SandboxLimits, seconds: float, *, sandboxed: bool) -> SandboxOutcome:
        rc = self.proc.returncode
        log = self.tail.text()
        if self.protocol_errors:
            log += f"\n[{self.protocol_errors} malformed event line(s) ignored]"

        def done(
            status: Status, reason: str | None, result: RunResult | None = None, files: tuple[OutputFile, ...] = ()
        ) -> SandboxOutcome:
            return SandboxOutcome(
                status=status,
                reason=reason,
                result=result,
                files=files,
                log=log,
                exit_code=rc,
                seconds=seconds,
                sandboxed=sandboxed,
            )

        if self.timed_out:
            return done("timed_out", f"The run took longer than its limit of {limits.wall_seconds:g} s and was stopped")
        if self.cancelled:
            return done("cancelled", "The run was cancelled")
        if self.result is not None and rc == 0:
            try:
                result = RunResult.from_json(self.result)
                files = scan_output_dir(
                    job.output_dir, max_files=limits.max_output_files, max_total_bytes=limits.max_output_bytes
                )
            except RunnerError as exc:
                return done("failed", exc.reason)
            return done("succeeded", None, result, files)
        if self.error is not None:
            kind, reason = self.error
            if kind == "cancelled":
                return done("cancelled", reason)
            return done("timed_out" if kind == "timeout" else "failed", reason or "The run failed")
        return done("failed", _exit_reason(rc, limits))


def _exit_reason(rc: int | None, limits: SandboxLimits) -> str:
    sig = -rc if rc is not None and rc < 0 else rc - 128 if rc is not None and rc > 128 else None
    if sig == signal.SIGXCPU:
        return f"The run exceeded its CPU time limit ({limits.cpu_seconds} s)"
    if sig == signal.SIGXFSZ:
        return "The run exceeded its file size limit"
    if sig == signal.SIGKILL:
        return "The run was killed (memory or CPU time limit)"
    if sig in (signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS):
        return f"The run crashed ({signal.Signals(sig).name}); this can be the memory limit"
    if sig is not None:
        return f"The run was stopped by signal {sig}"
    return f"The run ended (exit status {rc}) without a result"
