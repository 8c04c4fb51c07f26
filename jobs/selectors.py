"""Reading jobs: who may see which (exactly those who can read the repository) and the JSON
shape shared by the API, the pages and `manage.py jobs`."""
from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from accounts.models import AccessToken
from accounts.permissions import Principal
from hub.exceptions import NotFound
from jobs.models import Job
from repos.gate import can_read, repos_visible_to
from repos.models import Repository


def jobs_visible_to(user: Principal, *, token: AccessToken | None = None,
                    repo: Repository | None = None) -> QuerySet[Job]:
    """Jobs of repositories `user` can read (all of one repository's with `repo`, which the
    caller has authorized), newest first."""
    qs = Job.objects.select_related("repository", "discussion", "created_by")
    if repo is not None:
        return qs.filter(repository=repo)
    return qs.filter(repository__in=repos_visible_to(user, token=token))


def job_for(user: Principal, job_id: int, *, token: AccessToken | None = None) -> Job:
    """Job `job_id` if `user` can read its repository; a hidden job is exactly a missing one."""
    job = Job.objects.select_related("repository", "discussion", "created_by").filter(pk=job_id).first()
    if job is None or not can_read(user, job.repository, token=token):
        raise NotFound(f"Job {job_id} not found")
    return job


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def job_view(job: Job, user: Principal, *, token: AccessToken | None = None, log: bool = False) -> dict[str, Any]:
    """The job as its readers see it. The dataset is named only to those who can read it (a
    job on a public model may have been run on a private dataset of its submitter)."""
    repo = job.repository
    dataset_ref = job.params.get("dataset") if isinstance(job.params, dict) else None
    dataset = None
    if isinstance(dataset_ref, dict) and isinstance(dataset_ref.get("id"), int):
        found = Repository.objects.filter(pk=int(dataset_ref["id"])).first()
        if found is not None and can_read(user, found, token=token):
            dataset = {"id": found.repo_id, "revision": dataset_ref.get("revision")}
    view: dict[str, Any] = {
        "id": job.pk,
        "kind": job.kind,
        "state": job.state,
        "repo": {"id": repo.repo_id, "type": repo.repo_type},
        "revision": job.revision,
        "baseRevision": job.base_revision or None,
        "pullRequest": job.discussion.num if job.discussion_id and job.discussion else None,
        "dataset": dataset,
        "createdBy": job.created_by.username if job.created_by else None,
        "createdAt": _iso(job.created_at),
        "startedAt": _iso(job.started_at),
        "finishedAt": _iso(job.finished_at),
        "attempts": job.attempts,
        "cancelRequested": job.cancel_requested,
        "progress": {"fraction": job.progress, "step": job.step, "loss": job.loss, "metrics": job.metrics},
        "curve": job.curve,
        "result": job.result,
        "error": job.error or None,
    }
    if log:
        view["log"] = job.log
    return view
