#!/usr/bin/env python3
"""Run the whole hub in the foreground: the web server and one Celery worker, supervised.

What `make run` starts once the virtualenv is ready. Steps: `migrate`, `collectstatic`,
`reap --startup` (push quarantines and upload temporaries left by a previous run that was
killed), then gunicorn (hub/gunicorn_conf.py, 127.0.0.1:$HUB_PORT) and `celery -A hub worker`
on the queues default, eval and gpu, with the beat scheduler embedded (`-B`: the periodic
tasks of CELERY_BEAT_SCHEDULE; its state in <data dir>/celerybeat-schedule). Both are children
of this process:

- SIGTERM or SIGINT (Ctrl-C) is forwarded to both as SIGTERM (graceful: gunicorn lets requests
  finish, the worker finishes its task); after HUB_STOP_GRACE seconds whatever is left of
  either process group is killed. A second Ctrl-C kills at once. Exit status 0. This is the
  only way the hub stops while its children can be kept running.
- If a child exits on its own (crashed, killed, out of memory), whatever is left of its process
  group is stopped and it is started again after a backoff (HUB_RESTART_BACKOFF seconds,
  doubling up to 30 s; reset once a child has run for a minute), while the other child keeps
  serving. A child that needs more than HUB_RESTART_MAX restarts within HUB_RESTART_WINDOW
  seconds is not restarted again: the hub stops and this script exits non-zero (the exit
  status of that child, 137 for SIGKILL), so a broken installation does not loop forever.
- Every HUB_REAP_INTERVAL seconds (default 600; 0 turns it off) `manage.py reap` removes
  quarantines and temporaries older than any live writer can be (repos/management/commands/
  reap.py).

Children run in their own sessions, so a Ctrl-C in the terminal reaches only this script and
each child gets exactly one signal; PR_SET_PDEATHSIG stops them if this script is killed hard.
Run with the project's virtualenv Python; children use the same interpreter.
"""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as `python scripts/run_hub.py`: the checkout's packages

from hub.datadir import data_dir, record_run  # noqa: E402 - needs the path above

PYTHON = sys.executable
POLL_S = 0.2


def _log(message: str) -> None:
    print(f"[run_hub] {message}", flush=True)


def _die_with_parent() -> None:
    # Runs in the child between fork and exec. Linux only; elsewhere the children simply
    # outlive a supervisor killed with SIGKILL.
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _manage(*args: str) -> None:
    subprocess.run([PYTHON, str(ROOT / "manage.py"), *args], cwd=ROOT, check=True)


def _start(name: str, argv: list[str]) -> subprocess.Popen:
    proc = subprocess.Popen(argv, cwd=ROOT, start_new_session=True, preexec_fn=_die_with_parent)
    _log(f"started {name} (pid {proc.pid})")
    return proc


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _exit_status(code: int) -> int:
    return code if code > 0 else 128 - code if code < 0 else 1  # -9 (killed) -> 137


@dataclass(frozen=True)
class RestartPolicy:
    """When a child that exited on its own is started again."""

    backoff: float = 1.0  # first delay; doubles with each restart in a row
    backoff_max: float = 30.0
    max_restarts: int = 5  # within `window` seconds; one more exit stops the hub
    window: float = 300.0
    stable_after: float = 60.0  # a child that ran this long starts over at `backoff`
    drain: float = 10.0  # how long what is left of a dead child's group may take to exit

    @classmethod
    def from_env(cls) -> RestartPolicy:
        env = os.environ
        return cls(backoff=float(env.get("HUB_RESTART_BACKOFF", "1")),
                   max_restarts=int(env.get("HUB_RESTART_MAX", "5")),
                   window=float(env.get("HUB_RESTART_WINDOW", "300")))


@dataclass
class _Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen | None = None
    started: float = 0.0
    restarts: deque[float] = field(default_factory=deque)  # monotonic times of restarts
    in_a_row: int = 0
    next_start: float | None = None  # set while it waits for its restart
    drain_until: float | None = None  # set while the rest of its old group is stopping


class Supervisor:
    def __init__(self, children: dict[str, list[str]], grace: float, *, policy: RestartPolicy | None = None,
                 periodic: list[str] | None = None, period: float = 0.0) -> None:
        self.commands = children
        self.grace = grace
        self.policy = policy or RestartPolicy()
        self.children = {name: _Child(name, argv) for name, argv in children.items()}
        self.periodic = periodic  # a command run every `period` seconds (the reaper)
        self.period = period
        self.periodic_proc: subprocess.Popen | None = None
        self.stop_requested = 0.0  # monotonic time of the first stop signal

    @property
    def procs(self) -> dict[str, subprocess.Popen]:
        return {name: child.proc for name, child in self.children.items() if child.proc is not None}

    def _on_signal(self, signum: int, _frame: object) -> None:
        now = time.monotonic()
        if not self.stop_requested:
            self.stop_requested = now
        # One Ctrl-C often arrives twice (a wrapper like `timeout` or a service manager also
        # relays it); only a deliberate second one, a moment later, means "kill now".
        elif now - self.stop_requested > 1.0:
            _log("second stop signal: killing now")
            for proc in self.procs.values():
                _signal_group(proc, signal.SIGKILL)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        for child in self.children.values():
            if self.stop_requested:
                break
            self._launch(child)
        next_periodic = time.monotonic() + self.period
        failed: _Child | None = None
        while not self.stop_requested and failed is None:
            now = time.monotonic()
            for child in self.children.values():
                if not self._tend(child, now):
                    failed = child
                    break
            if self.periodic and self.period > 0 and now >= next_periodic:
                next_periodic = now + self.period
                self._run_periodic()
            time.sleep(POLL_S)
        self.stop()
        if failed is not None and failed.proc is not None:
            return _exit_status(failed.proc.returncode)
        return 0

    def _launch(self, child: _Child) -> None:
        child.proc = _start(child.name, child.argv)
        child.started = time.monotonic()
        child.next_start = child.drain_until = None

    def _tend(self, child: _Child, now: float) -> bool:
        """Look after one child; False when it died once too often (the hub must stop)."""
        proc = child.proc
        if child.next_start is None:
            if proc is None or proc.poll() is None:
                return True
            # It exited on its own. Stop what is left of its group (gunicorn workers, the
            # worker's pool) so that a new one can bind the port and nothing runs twice.
            _log(f"{child.name} exited with status {proc.returncode}")
            if now - child.started >= self.policy.stable_after:
                child.in_a_row = 0
            while child.restarts and now - child.restarts[0] > self.policy.window:
                child.restarts.popleft()
            if len(child.restarts) >= self.policy.max_restarts:
                _log(f"{child.name} was restarted {len(child.restarts)} times within "
                     f"{self.policy.window:g}s; stopping the others")
                return False
            delay = min(self.policy.backoff * 2 ** child.in_a_row, self.policy.backoff_max)
            child.in_a_row += 1
            child.restarts.append(now)
            child.next_start = now + delay
            child.drain_until = now + self.policy.drain
            _signal_group(proc, signal.SIGTERM)
            _log(f"restarting {child.name} in {delay:g}s")
            return True
        if proc is not None and _group_alive(proc.pid):
            if child.drain_until is not None and now >= child.drain_until:
                _signal_group(proc, signal.SIGKILL)
                child.drain_until = None
            return True
        if now >= child.next_start:
            self._launch(child)
        return True

    def _run_periodic(self) -> None:
        if self.periodic_proc is not None and self.periodic_proc.poll() is None:
            return  # the previous run is still going
        try:
            self.periodic_proc = subprocess.Popen(self.periodic or [], cwd=ROOT, start_new_session=True,
                                                  preexec_fn=_die_with_parent)
        except OSError as exc:
            _log(f"could not start {self.periodic}: {exc}")

    def stop(self) -> None:
        """SIGTERM to each main process (it stops its own workers gracefully), then wait for
        the whole process groups, then SIGKILL what is left after the grace period."""
        procs = list(self.procs.values())
        if self.periodic_proc is not None:
            procs.append(self.periodic_proc)
        for proc in procs:
            if proc.poll() is None:
                try:
                    proc.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + self.grace
        while time.monotonic() < deadline:
            for proc in procs:
                proc.poll()
            if not any(_group_alive(p.pid) for p in procs):
                break
            time.sleep(POLL_S)
        for name, proc in [*self.procs.items(), ("reaper", self.periodic_proc)]:
            if proc is not None and _group_alive(proc.pid):
                _log(f"{name} did not stop within {self.grace:.0f}s: killing it")
                _signal_group(proc, signal.SIGKILL)
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        _log("stopped")


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings.dev")
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    port = os.environ.setdefault("HUB_PORT", "8000")
    grace = float(os.environ.get("HUB_STOP_GRACE", "30"))
    reap_interval = float(os.environ.get("HUB_REAP_INTERVAL", "600"))
    os.chdir(ROOT)

    _manage("migrate", "--noinput")
    _manage("collectstatic", "--noinput", "--verbosity", "0")
    # Nothing else uses the data dir yet: whatever a killed push or upload left is garbage.
    # Only disk space is at stake: a failing reap is reported, it does not keep the hub down.
    reaped = subprocess.run([PYTHON, str(ROOT / "manage.py"), "reap", "--startup"], cwd=ROOT, check=False)
    if reaped.returncode != 0:
        _log(f"reap --startup failed with status {reaped.returncode}; starting anyway")

    url = os.environ.get("HUB_PUBLIC_URL", f"http://127.0.0.1:{port}").rstrip("/")
    data = data_dir()
    # A second terminal finds this URL through the data directory (`manage.py endpoint`).
    record = record_run(data, url=url, pid=os.getpid())
    py = os.path.relpath(PYTHON, ROOT) if PYTHON.startswith(str(ROOT)) else PYTHON
    _log(f"ModelHub on {url}  (data in {data})")
    if os.environ.get("HUB_DATA_DIR"):
        _log(f"other terminals: export HUB_DATA_DIR={data}  (manage.py commands need it too)")
    _log(f"first user:  {py} manage.py users create NAME --password PASSWORD --admin")
    _log(f"a token:     {py} manage.py tokens create NAME --scope write")
    _log(f"clients:     export HF_ENDPOINT={url} HF_TOKEN=<token>")
    _log("Ctrl-C stops the web server and the worker")

    children = {
        "web": [PYTHON, "-m", "gunicorn", "-c", str(ROOT / "hub" / "gunicorn_conf.py")],
        # -B: the worker also runs the periodic tasks (CELERY_BEAT_SCHEDULE: jobs and redactions
        # whose worker died, Xet garbage collection); one worker, so one scheduler.
        "worker": [PYTHON, "-m", "celery", "-A", "hub", "worker", "-Q", "default,eval,gpu",
                   "--concurrency", "1", "--pool", "prefork", "--loglevel", "INFO",
                   "--hostname", f"hub-{port}@%h", "-B", "--schedule", str(data / "celerybeat-schedule")],
    }
    reaper = [PYTHON, str(ROOT / "manage.py"), "reap", "--verbosity", "0"]  # prints only what it removed
    try:
        return Supervisor(children, grace, policy=RestartPolicy.from_env(), periodic=reaper,
                          period=reap_interval).run()
    finally:
        record.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
