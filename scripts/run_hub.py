#!/usr/bin/env python3
"""Run the whole hub in the foreground: the web server and one Celery worker, supervised.

What `make run` starts once the virtualenv is ready. Steps: `migrate`, `collectstatic`, then
gunicorn (hub/gunicorn_conf.py, 127.0.0.1:$HUB_PORT) and `celery -A hub worker` on the queues
default, eval and gpu. Both are children of this process:

- SIGTERM or SIGINT (Ctrl-C) is forwarded to both as SIGTERM (graceful: gunicorn lets requests
  finish, the worker finishes its task); after HUB_STOP_GRACE seconds whatever is left of
  either process group is killed. A second Ctrl-C kills at once. Exit status 0.
- If either child exits on its own, the other is stopped the same way and this script exits
  non-zero: a hub without its worker (or the reverse) must not look healthy.

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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
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


class Supervisor:
    def __init__(self, children: dict[str, list[str]], grace: float) -> None:
        self.commands = children
        self.grace = grace
        self.procs: dict[str, subprocess.Popen] = {}
        self.stop_requested = 0.0  # monotonic time of the first stop signal

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
        for name, argv in self.commands.items():
            if self.stop_requested:
                break
            self.procs[name] = _start(name, argv)
        failed = ""
        while not self.stop_requested and not failed:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    failed = name
                    _log(f"{name} exited with status {proc.returncode}; stopping the others")
                    break
            else:
                time.sleep(POLL_S)
        self.stop()
        if failed:
            code = self.procs[failed].returncode
            return code if code > 0 else 128 - code if code < 0 else 1  # -9 (killed) -> 137
        return 0

    def stop(self) -> None:
        """SIGTERM to each main process (it stops its own workers gracefully), then wait for
        the whole process groups, then SIGKILL what is left after the grace period."""
        for proc in self.procs.values():
            if proc.poll() is None:
                try:
                    proc.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + self.grace
        while time.monotonic() < deadline:
            for proc in self.procs.values():
                proc.poll()
            if not any(_group_alive(p.pid) for p in self.procs.values()):
                break
            time.sleep(POLL_S)
        for name, proc in self.procs.items():
            if _group_alive(proc.pid):
                _log(f"{name} did not stop within {self.grace:.0f}s: killing it")
                _signal_group(proc, signal.SIGKILL)
        for proc in self.procs.values():
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
    os.chdir(ROOT)

    _manage("migrate", "--noinput")
    _manage("collectstatic", "--noinput", "--verbosity", "0")

    url = os.environ.get("HUB_PUBLIC_URL", f"http://127.0.0.1:{port}")
    py = os.path.relpath(PYTHON, ROOT) if PYTHON.startswith(str(ROOT)) else PYTHON
    _log(f"ModelHub on {url}  (data in {os.environ.get('HUB_DATA_DIR', ROOT / 'data')})")
    _log(f"first user:  {py} manage.py users create NAME --password PASSWORD --admin")
    _log(f"a token:     {py} manage.py tokens create NAME --scope write")
    _log(f"clients:     export HF_ENDPOINT={url} HF_TOKEN=<token>")
    _log("Ctrl-C stops the web server and the worker")

    children = {
        "web": [PYTHON, "-m", "gunicorn", "-c", str(ROOT / "hub" / "gunicorn_conf.py")],
        "worker": [PYTHON, "-m", "celery", "-A", "hub", "worker", "-Q", "default,eval,gpu",
                   "--concurrency", "1", "--pool", "prefork", "--loglevel", "INFO",
                   "--hostname", f"hub-{port}@%h"],
    }
    return Supervisor(children, grace).run()


if __name__ == "__main__":
    sys.exit(main())
