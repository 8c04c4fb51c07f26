"""Job pages: `/{repo}/jobs` (a repository's jobs; writers of a model also get a form that
POSTs to `/{repo}/jobs/finetune`, the API's fine-tuning service), `/jobs/{n}` (one job: live progress bar,
log and loss curve, refreshed by static/js/jobs.js from the jobs API), `/jobs/{n}/loss.svg`.
Views parse, authorize (readers of the job's repository; a hidden job is a missing one),
call a selector, render."""
from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_POST, require_safe

from accounts.permissions import request_principal
from hub.exceptions import BadRequest, HubError, NotFound
from hub.http.pages import login_required_page
from jobs.curves import loss_svg
from jobs.fine_tuning import fine_tune_request
from jobs.forms import FineTuneForm
from jobs.models import Job
from jobs.selectors import job_for, job_view, jobs_visible_to
from repos.models import Repository, RepoType
from repos.views.context import load_repo, repo_header

MAX_LISTED = 100


def _job(request: HttpRequest, job_id: str) -> Job:
    user, token = request_principal(request)
    try:
        return job_for(user, int(job_id), token=token)
    except NotFound:
        raise Http404("No such job") from None


def _jobs_tab(request: HttpRequest, repo: Repository, *, form: FineTuneForm | None = None,
              error: str = "", status: int = 200) -> HttpResponse:
    ctx: dict[str, Any] = repo_header(request, repo, tab="jobs")
    user, _token = request_principal(request)
    ctx["jobs"] = list(jobs_visible_to(user, repo=repo)[:MAX_LISTED])
    ctx["finetune_form"] = (form or FineTuneForm()) if ctx.get("can_write") and repo.repo_type == RepoType.MODEL \
        else None
    ctx["finetune_error"] = error
    return render(request, "jobs/repo_jobs.html", ctx, status=status)


@require_safe
def repo_jobs(request: HttpRequest, namespace: str, name: str, prefix: str | None = None) -> HttpResponse:
    return _jobs_tab(request, load_repo(request, prefix=prefix, namespace=namespace, name=name))


@login_required_page
@require_POST
def repo_finetune(request: HttpRequest, namespace: str, name: str, prefix: str | None = None) -> HttpResponse:
    repo = load_repo(request, prefix=prefix, namespace=namespace, name=name, action="write")
    user, _token = request_principal(request)
    form = FineTuneForm(request.POST)
    try:
        if not form.is_valid():
            raise BadRequest("Check the fine-tuning parameters: " + "; ".join(
                f"{field}: {' '.join(map(str, errors))}" for field, errors in form.errors.items()))
        job = fine_tune_request(repo=repo, revision=repo.default_branch, user=user,  # type: ignore[arg-type]
                                overrides=form.overrides())
    except HubError as exc:
        return _jobs_tab(request, repo, form=form, error=exc.message, status=exc.status)
    return HttpResponseRedirect(f"/jobs/{job.pk}")


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
