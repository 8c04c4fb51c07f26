"""`python manage.py jobs list|show|cancel|retry|reap` for operators.

* `list [--state S] [--limit N]`: one line per job (id, state, kind, repository, progress);
* `show ID`: the job as JSON, with its log;
* `cancel ID` / `retry ID`: as the API's cancel, and a new series of attempts for a failed or
  cancelled job;
* `reap`: what the periodic `jobs.reap` task does (orphaned running jobs, lost queued ones).
"""
from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobs.models import Job
from jobs.selectors import job_view
from jobs.services.lifecycle import JobError, job_cancel, job_reap, job_retry


class Command(BaseCommand):
    help = "Operate jobs (evaluations and fine-tuning): list, show, cancel, retry, reap."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="List jobs, newest first.")
        listing.add_argument("--state", choices=Job.State.values)
        listing.add_argument("--limit", type=int, default=50)
        for name in ("show", "cancel", "retry"):
            sub.add_parser(name).add_argument("job_id", type=int)
        sub.add_parser("reap", help="Retry or fail orphaned running jobs; re-send lost queued ones.")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "list":
            qs = Job.objects.select_related("repository").order_by("-created_at", "-pk")
            if options["state"]:
                qs = qs.filter(state=options["state"])
            for job in qs[: max(1, options["limit"])]:
                self.stdout.write(f"{job.pk}\t{job.state}\t{job.kind}\t{job.repository.repo_type}:"
                                  f"{job.repository.repo_id}\t{job.revision[:12]}\t{job.progress:.0%}"
                                  f"\t{job.error[:80]}")
            return
        if action == "reap":
            self.stdout.write(json.dumps(job_reap()))
            return
        job = Job.objects.select_related("repository").filter(pk=options["job_id"]).first()
        if job is None:
            raise CommandError(f"No job {options['job_id']}")
        try:
            if action == "cancel":
                job = job_cancel(job=job)
            elif action == "retry":
                job = job_retry(job=job)
        except JobError as exc:
            raise CommandError(str(exc)) from exc
        if action == "show":
            # Operators see everything: the view as a superuser would.
            from accounts.models import User

            view = job_view(job, User(is_superuser=True, is_active=True), log=True)
            self.stdout.write(json.dumps(view, indent=2, default=str))
        else:
            self.stdout.write(f"{job.pk}\t{job.state}")
