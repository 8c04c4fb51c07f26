"""Jobs API routes, mounted under /api/ by `hub/urls.py` (before the API's catch-all)."""
from django.urls import re_path

from jobs import api
from repos.api.patterns import ID, T

JOB = r"(?P<job_id>[0-9]{1,18})"

urlpatterns = [
    re_path(r"^jobs$", api.JobListApi.as_view()),
    re_path(rf"^jobs/{JOB}$", api.JobDetailApi.as_view()),
    re_path(rf"^jobs/{JOB}/logs$", api.JobLogsApi.as_view()),
    re_path(rf"^jobs/{JOB}/cancel$", api.JobCancelApi.as_view()),
    re_path(rf"^{T}/{ID}/jobs$", api.RepoJobsApi.as_view()),
]
