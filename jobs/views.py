"""Job pages: `/{repo}/jobs` (a repository's jobs), `/jobs/{n}` (one job: live progress bar,
log and loss curve, refreshed by static/js/jobs.js from the jobs API), `/jobs/{n}/loss.svg`.
Views parse, authorize (readers of the job's repository; a hidden job is a missing one),
call a selector, render."""
from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from accounts.permissions import request_principal
from hub.exceptions import NotFound
from jobs.curves import loss_svg
from jobs.models import Job
from jobs.selectors import job_for, job_view, jobs_visible_to
from repos.views.context import load_repo, repo_header

MAX_LISTED = 100


def _job(request: HttpRequest, job_id: str) -> Job:
    user, token = request_principal(request)
    try:
        return job_for(user, int(job_id), token=token)
    except NotFound:
        raise Http404("No such job") from None


@require_safe
def repo_jobs(request: HttpRequest, namespace: str, name: str, prefix: str | None = None) -> HttpResponse:
    repo = load_repo(request, prefix=prefix, namespace=namespace, name=name)
    ctx = repo_header(request, repo, tab="jobs")
    user, _token = request_principal(request)
    ctx["jobs"] = list(jobs_visible_to(user, repo=repo)[:MAX_LISTED])
    return render(request, "jobs/repo_jobs.html", ctx)


@require_safe
def job_page(request: HttpRequest, job_id: str) -> HttpResponse:
    job = _job(request, job_id)
    user, token = request_principal(request)
    view = job_view(job, user, token=token)
    runs = []
    for label, run in ((job.result or {}).get("runs") or {}).items():
        metrics = ((run.get("result") or {}).get("metrics") or {}) if isinstance(run, dict) else {}
        runs.append({"label": label, "status": run.get("status"), "reason": run.get("reason"),
                     "metrics": sorted(metrics.items())})
    return render(request, "jobs/job.html", {"job": job, "view": view, "runs": runs,
                                             "final": job.is_final, "repo": job.repository})


@require_safe
def job_loss_svg(request: HttpRequest, job_id: str) -> HttpResponse:
    job = _job(request, job_id)
    response = HttpResponse(loss_svg(job.curve), content_type="image/svg+xml")
    response["Cache-Control"] = "no-store"
    return response
