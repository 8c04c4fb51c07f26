"""Celery dispatch overhead of jobs against their duration, through a real worker.

A hub (`bench.common.hub_server`) and a real Celery worker (`tests.live.start_worker`, the
command `make run` starts) share a data dir, database and broker (filesystem by default;
CELERY_BROKER_URL=redis://... to measure Redis). Jobs of kind `selfcheck` that sleep a fixed
time in the sandbox are submitted one after the other; for each:

* dispatch = claimed by the worker (`started_at`) - submitted (`created_at`): the broker
  round trip, the worker's polling and the task's start, i.e. what Celery adds;
* duration = `finished_at` - `started_at`: the job as the worker runs it (sandbox start,
  the runner's sleep, result handling) - the baseline the overhead is compared with.

Prints the median dispatch / duration ratio (target <= 1%) and the end-to-end overhead of
everything around the runner's own sleep, for information.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.common import BENCH_USER, Report, hub_server, install_deadline, median, temp_dir

SUBMIT_AND_WAIT = """
import json, time
from django.db import transaction
from accounts.models import User
from jobs.models import Job
from jobs.services.lifecycle import job_submit
from repos.services.repos import repo_create

user = User.objects.get(username={user!r})
repo = repo_create(user=user, namespace=user.username, name="dispatch-bench")
rows = []
for i in range({jobs}):
    with transaction.atomic():
        job = job_submit(kind="selfcheck", repo=repo, revision=repo.head_sha, params={{
            "probe": "sleep", "runner_params": {{"seconds": {seconds}, "cooperative": True}}}})
    deadline = time.monotonic() + {seconds} + 120
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.is_final:
            break
        time.sleep(0.05)
    rows.append({{"state": job.state, "created": job.created_at.timestamp(),
                 "started": job.started_at.timestamp() if job.started_at else None,
                 "finished": job.finished_at.timestamp() if job.finished_at else None}})
print("ROWS " + json.dumps(rows))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0, help="how long each job's runner sleeps")
    parser.add_argument("--timeout", type=int, default=900)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    install_deadline(args.timeout)
    from tests.live import start_worker, stop_process

    report = Report(f"jobs_dispatch: Celery dispatch vs job duration ({args.jobs} jobs of {args.seconds:g} s)")
    with temp_dir("bench-jobs-dispatch-") as tmp, hub_server(Path(tmp)) as (hub, _proc):
        worker = start_worker(hub, Path(tmp) / "worker.log")
        try:
            script = SUBMIT_AND_WAIT.format(user=BENCH_USER, jobs=args.jobs, seconds=args.seconds)
            out = hub.manage("shell", "-c", script).stdout
        finally:
            stop_process(worker.proc)
        rows = json.loads(next(line for line in out.splitlines() if line.startswith("ROWS "))[5:])
    done = [r for r in rows if r["state"] == "succeeded" and r["started"] and r["finished"]]
    if len(done) != len(rows):
        report.info("jobs that did not succeed", json.dumps(rows))
        return 1
    dispatch = [r["started"] - r["created"] for r in done]
    duration = [r["finished"] - r["started"] for r in done]
    report.info("dispatch seconds (median)", f"{median(dispatch):.3f}")
    report.info("job duration seconds (median)", f"{median(duration):.3f}")
    ratios = [d / t for d, t in zip(dispatch, duration, strict=True)]
    report.ratio("dispatch_over_duration", median(ratios), target=0.01, higher_is_better=False)
    report.note("end_to_end_over_runner_sleep", median([(r["finished"] - r["created"]) / args.seconds
                                                        for r in done]),
                what="submission to final state / the runner's own sleep; includes the sandbox start")
    return report.summary(strict=args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
