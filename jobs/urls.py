"""HTML routes of the jobs app, mounted before the repository pages (hub/urls.py)."""
from django.urls import re_path

from jobs import views

REPO = r"^(?:(?P<prefix>datasets|spaces)/)?(?P<namespace>[\w.\-]+)/(?P<name>[\w.\-]+)"
JOB = r"(?P<job_id>[0-9]{1,18})"

urlpatterns = [
    re_path(rf"^jobs/{JOB}$", views.job_page, name="job"),
    re_path(rf"^jobs/{JOB}/loss\.svg$", views.job_loss_svg, name="job-loss-svg"),
    re_path(rf"{REPO}/jobs$", views.repo_jobs, name="repo-jobs"),
    re_path(rf"{REPO}/jobs/finetune$", views.repo_finetune, name="repo-finetune"),
]
