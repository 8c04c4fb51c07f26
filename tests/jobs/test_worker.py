"""Jobs run by a real Celery worker process (tests/live.py): cancellation stops the sandboxed
child within seconds, and a worker process killed mid-job leaves the job retried, not stuck.

Each scenario runs in one `manage.py shell` sharing the live hub's database and broker, polling
the database with bounded deadlines (a manage.py start costs more than a query)."""
from __future__ import annotations

import json
import random

import pytest

from jobs.sandbox import sandbox_problem
from tests.live import LiveHub, LiveWorker

pytestmark = [pytest.mark.live, pytest.mark.worker,
              pytest.mark.skipif(sandbox_problem() is not None, reason=f"no job sandbox: {sandbox_problem()}")]

SETUP = """
import json, os, signal, time
from django.db import transaction
from accounts.models import User
from jobs.models import Job
from jobs.services.lifecycle import job_cancel, job_submit
from repos.models import Repository
from repos.services.repos import repo_create

user = User.objects.get(username="runner")
repo = Repository.objects.filter(namespace="runner", name="probe").first() or repo_create(
    user=user, namespace="runner", name="probe")

def wait(job, states, timeout):
    deadline = time.monotonic() + timeout
    while True:
        job.refresh_from_db()
        if job.state in states or time.monotonic() > deadline:
            return job
        time.sleep(0.1)

def sleeper(seconds, cooperative):
    with transaction.atomic():
        return job_submit(kind="selfcheck", repo=repo, revision=repo.head_sha, params={
            "probe": "sleep", "runner_params": {"seconds": seconds, "cooperative": cooperative}})

def children_with(token):
    found = []
    for pid in os.listdir("/proc"):
        if pid == str(os.getpid()):
            continue  # this shell's own script holds the token too
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
                if token.encode() in cmdline and b"jobs.runners.entry" in cmdline:
                    found.append(int(pid))
        except (OSError, ValueError):
            pass
    return found
"""

CANCEL = """
seconds = {seconds}
job = wait(sleeper(seconds, False), ("running",), 60)
running = job.state
deadline = time.monotonic() + 30
while not children_with(repr(seconds)) and time.monotonic() < deadline:
    time.sleep(0.1)
child_seen = bool(children_with(repr(seconds)))
started = time.monotonic()
job_cancel(job=job)
job = wait(job, ("cancelled", "failed", "succeeded"), 30)
took = time.monotonic() - started
deadline = time.monotonic() + 5
while children_with(repr(seconds)) and time.monotonic() < deadline:
    time.sleep(0.1)
print(json.dumps({{"running": running, "child_seen": child_seen, "state": job.state, "took": took,
                  "left": children_with(repr(seconds)), "error": job.error}}))
"""

KILL = """
job = wait(sleeper(4, True), ("running",), 60)
running, worker = job.state, job.worker
deadline = time.monotonic() + 10
while "started on" not in job.log and time.monotonic() < deadline:
    job.refresh_from_db()
    time.sleep(0.05)
os.kill(int(worker.rpartition(":")[2]), signal.SIGKILL)
job = wait(job, ("succeeded", "failed", "cancelled"), 90)
print(json.dumps({"running": running, "first_worker": worker, "state": job.state, "attempts": job.attempts,
                  "worker": job.worker, "log": job.log, "error": job.error}))
"""


def _run(hub: LiveHub, script: str) -> dict:
    out = hub.manage("shell", "-c", SETUP + script).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture
def runner_user(live_hub: LiveHub) -> LiveHub:
    live_hub.create_user("runner")
    return live_hub


def test_cancel_stops_the_sandboxed_child_within_seconds(runner_user: LiveHub, live_worker: LiveWorker) -> None:
    seconds = round(300 + random.random(), 6)  # a unique token on the child's command line
    outcome = _run(runner_user, CANCEL.format(seconds=seconds))
    assert outcome["running"] == "running" and outcome["child_seen"], (outcome, live_worker.log()[-3000:])
    assert outcome["state"] == "cancelled", outcome
    assert outcome["took"] < 10, outcome
    assert outcome["left"] == [], outcome


def test_a_worker_killed_mid_job_leaves_it_retried(runner_user: LiveHub, live_worker: LiveWorker) -> None:
    outcome = _run(runner_user, KILL)
    assert outcome["running"] == "running", outcome
    assert outcome["state"] == "succeeded", (outcome, live_worker.log()[-3000:])
    assert outcome["attempts"] == 2 and outcome["worker"] != outcome["first_worker"]
    assert "The worker running this job stopped; attempt 1 of 2, retrying" in outcome["log"]
    assert live_worker.proc.poll() is None  # the pool replaced its process; the worker lives on
