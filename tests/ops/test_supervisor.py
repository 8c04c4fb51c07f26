"""The supervisor of `make run` (scripts/run_hub.py) with stand-in children: restarts with
backoff, gives up after too many restarts in a window, stops only on a stop signal."""
from __future__ import annotations

import importlib.util
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import ROOT


def _load_run_hub():
    spec = importlib.util.spec_from_file_location("run_hub_under_test", ROOT / "scripts" / "run_hub.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


run_hub = _load_run_hub()
FAST = run_hub.RestartPolicy(backoff=0.05, backoff_max=0.2, max_restarts=3, window=60, drain=2)


@pytest.fixture(autouse=True)
def _keep_signal_handlers() -> Iterator[None]:
    # Supervisor.run installs its own SIGTERM/SIGINT handlers in this (pytest's) process.
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def _child(launches: Path, script: str) -> list[str]:
    # Each start appends a line to `launches`, then runs `script`.
    return [sys.executable, "-c", f"import sys, time\nopen({str(launches)!r}, 'a').write('x\\n')\n{script}"]


def _launch_count(launches: Path) -> int:
    return len(launches.read_text().splitlines()) if launches.exists() else 0


def test_a_child_that_keeps_dying_is_restarted_then_the_hub_stops(tmp_path: Path) -> None:
    launches = tmp_path / "launches"
    steady = tmp_path / "steady"
    supervisor = run_hub.Supervisor({"worker": _child(launches, "sys.exit(3)"),
                                     "web": _child(steady, "time.sleep(60)")}, grace=5, policy=FAST)
    started = time.monotonic()
    status = supervisor.run()
    assert status == 3  # the dying child's own exit status
    assert _launch_count(launches) == 1 + FAST.max_restarts
    assert _launch_count(steady) == 1  # the healthy child was never restarted, only stopped at the end
    assert supervisor.children["web"].proc.poll() is not None
    assert time.monotonic() - started < 20


def test_a_restarted_child_keeps_running_until_a_stop_signal(tmp_path: Path) -> None:
    launches = tmp_path / "launches"
    # The first start crashes (killed, as by the OOM killer); the second one stays up.
    script = ("import os, signal\n"
              f"if len(open({str(launches)!r}).read().splitlines()) == 1: os.kill(os.getpid(), signal.SIGKILL)\n"
              "time.sleep(60)")
    supervisor = run_hub.Supervisor({"worker": _child(launches, script)}, grace=5, policy=FAST)

    def stop_once_restarted() -> None:
        deadline = time.monotonic() + 20
        while _launch_count(launches) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        supervisor._on_signal(signal.SIGTERM, None)

    stopper = threading.Thread(target=stop_once_restarted)
    stopper.start()
    try:
        assert supervisor.run() == 0
    finally:
        stopper.join(30)
    assert _launch_count(launches) == 2
    assert supervisor.children["worker"].proc.returncode == -signal.SIGTERM  # stopped, not crashed


def test_periodic_command_runs_while_the_hub_runs(tmp_path: Path) -> None:
    ticks = tmp_path / "ticks"
    supervisor = run_hub.Supervisor({"web": _child(tmp_path / "web", "time.sleep(60)")}, grace=5, policy=FAST,
                                    periodic=_child(ticks, "pass"), period=0.1)

    def stop_after_ticks() -> None:
        deadline = time.monotonic() + 20
        while _launch_count(ticks) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        supervisor._on_signal(signal.SIGTERM, None)

    stopper = threading.Thread(target=stop_after_ticks)
    stopper.start()
    try:
        assert supervisor.run() == 0
    finally:
        stopper.join(30)
    assert _launch_count(ticks) >= 3
