"""The job page in a real browser (headless Chromium) against a live hub: while the job runs,
its progress bar, step, loss curve and log follow what the worker writes (static/js/jobs.js
polling the jobs API, no inline script), and polling stops at the final state.

The progress is written by a `manage.py shell` in the hub's database, exactly the fields the
worker's reporter writes (jobs/services/execution.py); the worker itself is tested in
tests/jobs/test_worker.py."""
from __future__ import annotations

import json
import os

import pytest

from tests.browser.chromium import CHROMIUM
from tests.live import LiveHub

pytestmark = [
    pytest.mark.browser,
    pytest.mark.live,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing (apt-get install chromium)"),
]

CREATE = """
import json
from accounts.models import User
from jobs.models import Job
from repos.services.repos import repo_create
user = User.objects.get(username="jobber")
repo = repo_create(user=user, namespace="jobber", name="trained")
job = Job.objects.create(kind="finetune", queue="gpu", repository=repo, revision=repo.head_sha, state="running",
                         progress=0.1, step=1, loss=0.9, curve=[[1, 0.9]], log="epoch 1\\n")
print(json.dumps({"id": job.pk}))
"""

ADVANCE = """
from jobs.models import Job
Job.objects.filter(pk={pk}).update(progress=0.6, step=6, loss=0.4, curve=[[1, 0.9], [3, 0.7], [6, 0.4]],
                                   log="epoch 1\\nepoch 2\\n")
"""

FINISH = """
from jobs.models import Job
job = Job.objects.get(pk={pk})
job.transition("succeeded", progress=1.0, step=8, loss=0.3, curve=[[1, 0.9], [3, 0.7], [6, 0.4], [8, 0.3]])
"""


def test_progress_and_loss_update_while_the_job_runs(live_hub: LiveHub, browser) -> None:
    live_hub.create_user("jobber")
    pk = json.loads(live_hub.manage("shell", "-c", CREATE).stdout.strip().splitlines()[-1])["id"]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    svgs: list[str] = []
    page.on("response", lambda r: "/loss.svg" in r.url and svgs.append(r.text()))
    try:
        page.goto(f"{live_hub.url}/jobs/{pk}")
        assert page.get_attribute("[data-job-progress]", "value") == "0.1"
        assert page.text_content("[data-job-state]") == "running"
        page.wait_for_function("() => document.querySelector('[data-job-curve]').complete")

        live_hub.manage("shell", "-c", ADVANCE.format(pk=pk))
        page.wait_for_function("() => document.querySelector('[data-job-progress]').value === 0.6")
        page.wait_for_function("() => document.querySelector('[data-job-curve]').src.includes('v=6-3')")
        page.wait_for_function("() => document.querySelector('[data-job-log]').textContent.includes('epoch 2')")
        assert page.text_content("[data-job-step]") == "step 6"
        assert page.text_content("[data-job-loss]") == "loss 0.4000"
        page.wait_for_function("() => document.querySelector('[data-job-curve]').complete")
        assert any('data-points="3"' in svg for svg in svgs), svgs

        live_hub.manage("shell", "-c", FINISH.format(pk=pk))
        page.wait_for_function("() => document.querySelector('[data-job-state]').textContent === 'succeeded'")
        page.wait_for_function("() => document.querySelector('[data-job-api]').hasAttribute('data-job-final')")
        assert page.get_attribute("[data-job-progress]", "value") == "1"
        assert errors == []
    finally:
        context.close()
