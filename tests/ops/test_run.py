"""`scripts/run_hub.py`, what `make run` starts: web server and worker, supervised together."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.live import (
    PYTHON,
    ROOT,
    RUN_HUB_REDIS_DB,
    free_port,
    hub_env,
    isolated_broker_url,
    isolated_database,
    wait_for,
    wait_http,
)

pytestmark = pytest.mark.live

STOP_BOUND_S = 45  # HUB_STOP_GRACE below plus time to reap
RESTART_BOUND_S = 60  # a killed child is running (and ready) again within this
PLANTED_PART = "0123456789abcdef-killed.part"


@dataclass
class RunningHub:
    proc: subprocess.Popen
    url: str
    env: dict[str, str]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def children(self) -> dict[str, int]:
        """The supervisor's child processes by role ("web", "worker") from /proc."""
        found: dict[str, int] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            ppid = int(stat.rpartition(")")[2].split()[1])
            if ppid != self.proc.pid:
                continue
            if "gunicorn" in cmdline:
                found["web"] = int(entry.name)
            elif "celery" in cmdline and " worker" in cmdline:
                found["worker"] = int(entry.name)
        return found


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def running_hub(tmp_path: Path) -> Iterator[RunningHub]:
    with isolated_database() as database_url:
        yield from _run_hub(tmp_path, database_url)


def _run_hub(tmp_path: Path, database_url: str | None) -> Iterator[RunningHub]:
    port = free_port()
    extra = {"HUB_STOP_GRACE": "30", "HUB_ACCESS_LOG": "/dev/null", "HUB_RESTART_BACKOFF": "0.2"}
    if database_url:
        extra["DATABASE_URL"] = database_url
    if broker := isolated_broker_url(RUN_HUB_REDIS_DB):
        extra["CELERY_BROKER_URL"] = broker
    env = hub_env(tmp_path / "data", port, extra)
    # What a previous run killed mid-upload left behind: `reap --startup` must remove it.
    (tmp_path / "data" / "tmp").mkdir(parents=True)
    (tmp_path / "data" / "tmp" / PLANTED_PART).write_bytes(b"half an object")
    log_path = tmp_path / "run_hub.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([PYTHON, str(ROOT / "scripts" / "run_hub.py")], env=env, cwd=ROOT,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    hub = RunningHub(proc=proc, url=f"http://127.0.0.1:{port}", env=env, log_path=log_path)
    groups: list[int] = []
    try:
        wait_http(f"{hub.url}/api/agent-harnesses", timeout=120, proc=proc)
        wait_for(lambda: " ready." in hub.log(), 60, "the worker to be ready")
        groups = list(hub.children().values())
        yield hub
    except Exception:
        print(hub.log()[-5000:])
        raise
    finally:
        # Whatever the test did, leave no process behind (children run in their own groups;
        # restarted ones are found again).
        groups += hub.children().values()
        for pgid in [proc.pid, *groups]:
            if group_alive(pgid):
                os.killpg(pgid, signal.SIGKILL)
        proc.wait(10)


def test_serves_the_api_with_a_live_worker_and_stops_on_sigterm(running_hub: RunningHub) -> None:
    hub = running_hub
    children = hub.children()
    assert set(children) == {"web", "worker"}, hub.log()[-3000:]
    # Each child leads its own process group (so a terminal's Ctrl-C reaches only the supervisor).
    assert all(os.getpgid(pid) == pid for pid in children.values())
    assert f"ModelHub on {hub.url}" in hub.log()
    assert not (Path(hub.env["HUB_DATA_DIR"]) / "tmp" / PLANTED_PART).exists()  # reaped before start
    assert "reaped 0 push quarantine(s) and 1 upload temporary file(s)" in hub.log()
    assert "users create" in hub.log()  # the hint for the first user
    # The worker runs the periodic tasks too (reapers, Xet GC): its embedded scheduler started.
    wait_for(lambda: "beat: Starting" in hub.log(), 60, "the embedded beat scheduler to start")
    assert any(p.name.startswith("celerybeat-schedule") for p in Path(hub.env["HUB_DATA_DIR"]).iterdir())

    # The README's operator steps work against the running instance's database.
    manage = [PYTHON, str(ROOT / "manage.py")]
    subprocess.run([*manage, "users", "create", "op", "--password", "op-Pa55word!"], env=hub.env, cwd=ROOT,
                   check=True, capture_output=True, timeout=60)
    token = subprocess.run([*manage, "tokens", "create", "op", "--scope", "write"], env=hub.env, cwd=ROOT,
                           check=True, capture_output=True, text=True, timeout=60).stdout.strip()
    request = urllib.request.Request(f"{hub.url}/api/agent-harnesses", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        assert "harnesses" in json.load(response)
    bad = urllib.request.Request(f"{hub.url}/api/agent-harnesses", headers={"Authorization": "Bearer hf_wrong"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(bad, timeout=10)
    assert err.value.code == 401

    started = time.monotonic()
    hub.proc.send_signal(signal.SIGTERM)
    assert hub.proc.wait(STOP_BOUND_S) == 0, hub.log()[-3000:]
    assert time.monotonic() - started < STOP_BOUND_S
    for role, pid in children.items():
        assert not group_alive(pid), f"{role} (pid {pid}) or one of its processes is still running"
    log = hub.log()
    assert "Warm shutdown" in log  # the worker was asked to stop, not killed
    assert "Shutting down: Master" in log  # so was gunicorn


def _api_answers(hub: RunningHub) -> bool:
    try:
        with urllib.request.urlopen(f"{hub.url}/api/agent-harnesses", timeout=10) as response:
            return response.status == 200
    except OSError:
        return False


def _manage(hub: RunningHub, *args: str) -> str:
    return subprocess.run([PYTHON, str(ROOT / "manage.py"), *args], env=hub.env, cwd=ROOT, check=True,
                          capture_output=True, text=True, timeout=120).stdout


def test_killed_children_are_restarted_and_the_queue_is_served(running_hub: RunningHub) -> None:
    """kill -9 of the worker: the hub keeps serving, a new worker is started and runs a task
    enqueued after the kill; kill -9 of the web server: a new one serves. SIGTERM still stops
    everything cleanly."""
    from tests.ops.test_worker import CREATE_AND_ENQUEUE, WAIT_FOR_SUMMARY

    hub = running_hub
    children = hub.children()
    os.kill(children["worker"], signal.SIGKILL)
    assert _api_answers(hub), "the web server must keep serving while the worker is down"
    os.kill(children["web"], signal.SIGKILL)

    # One shell: a user, a commit whose analysis is enqueued now (no worker may be running
    # yet), then wait for the analysis to be stored - by the restarted worker.
    script = ("from accounts.services.users import user_create\n"
              "user_create(username='analyst', password='analyst-Pa55word!', email='analyst@example.com')\n"
              + CREATE_AND_ENQUEUE + WAIT_FOR_SUMMARY.format(pk="repo.pk", timeout=RESTART_BOUND_S))
    out = _manage(hub, "shell", "-c", script)
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary is not None and summary["total"] == 16 * 8 + 8 + 3, hub.log()[-3000:]

    wait_for(lambda: _api_answers(hub), RESTART_BOUND_S, "a new web server to answer")
    latest = hub.children()
    assert latest["web"] != children["web"] and latest["worker"] != children["worker"]
    assert not group_alive(children["web"]) and not group_alive(children["worker"])  # old groups gone
    log = hub.log()
    assert "worker exited with status -9" in log and "restarting worker" in log
    assert "web exited with status -9" in log and "restarting web" in log
    assert hub.proc.poll() is None

    hub.proc.send_signal(signal.SIGTERM)
    assert hub.proc.wait(STOP_BOUND_S) == 0, hub.log()[-3000:]
    for role, pid in latest.items():
        assert not group_alive(pid), f"{role} (pid {pid}) is still running"
