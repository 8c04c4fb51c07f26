"""`python manage.py jobs list|show|cancel|retry|reap|finetune` for operators.

* `list [--state S] [--limit N]`: one line per job (id, state, kind, repository, progress);
* `show ID`: the job as JSON, with its log;
* `cancel ID` / `retry ID`: as the API's cancel, and a new series of attempts for a failed or
  cancelled job;
* `finetune REPO_ID --dataset D [--split S] [--method full|lora] [--epochs N] [--lr X]
  [--revision R] [--as USER]`: what the API's `POST .../jobs {"kind": "finetune"}` does (the
  model card's `fine_tune` block with these changes, the same service and validation); with
  `--as`, the job is that user's and needs their write access; prints the job id;
* `reap`: what the periodic `jobs.reap` task does (orphaned running jobs, lost queued ones).
"""
from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hub.exceptions import HubError
from jobs.fine_tuning import FineTuneOverrides, default_reader, fine_tune_request
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
        ft = sub.add_parser("finetune", help="Fine-tune a model repository (its card's fine_tune block).")
        ft.add_argument("repo_id", help="namespace/name of a model repository")
        ft.add_argument("--dataset", help="namespace/name of a dataset repository (default: the card's)")
        ft.add_argument("--split")
        ft.add_argument("--method", choices=("full", "lora"))
        ft.add_argument("--epochs", type=int)
        ft.add_argument("--lr", type=float, dest="learning_rate")
        ft.add_argument("--revision", help="revision of the model (default: its default branch)")
        ft.add_argument("--as", dest="as_user", metavar="USER", help="submit as this user (needs write access)")
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
        if action == "finetune":
            self._finetune(options)
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

    def _finetune(self, options: dict[str, Any]) -> None:
        from accounts.models import User
        from repos.gate import can_write
        from repos.models import Repository, RepoType

        namespace, _, name = options["repo_id"].partition("/")
        repo = Repository.objects.filter(repo_type=RepoType.MODEL, namespace=namespace, name=name).first()
        if repo is None or not name:
            raise CommandError(f"No model repository {options['repo_id']!r}")
        user = None
        if options["as_user"]:
            user = User.objects.filter(username=options["as_user"], is_active=True).first()
            if user is None:
                raise CommandError(f"No active user {options['as_user']!r}")
            if not can_write(user, repo):
                raise CommandError(f"{user.username} cannot write to {repo.repo_id}")
        overrides = FineTuneOverrides(dataset=options["dataset"], split=options["split"], method=options["method"],
                                      epochs=options["epochs"], learning_rate=options["learning_rate"])
        try:
            job = fine_tune_request(repo=repo, revision=options["revision"] or repo.default_branch, user=user,
                                    reader=None if user is not None else default_reader(repo), overrides=overrides)
        except HubError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(str(job.pk))
