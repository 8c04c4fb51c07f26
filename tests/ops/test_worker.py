"""A commit's safetensors summary computed by a real Celery worker process.

The hub server, a `manage.py shell` client and the worker share one data dir, database and
broker (filesystem by default, Redis + PostgreSQL in .ci/run's second pass): the task travels
through the real broker, exactly as in `make run`.
"""
from __future__ import annotations

import json
import os

import pytest
from huggingface_hub import HfApi

from tests.live import LiveHub, LiveWorker

CREATE_AND_ENQUEUE = """
import hashlib, io, json
import numpy as np
from django.db import transaction
from safetensors.numpy import save
from accounts.models import User
from repos.git.commit import PutFile, Signature, commit_to_ref
from repos.lfs.pointer import format_pointer
from repos.services.analysis import enqueue_repo_analysis
from repos.services.index import repo_reindex
from repos.services.repos import repo_create
from repos.handles import git_repo
from repos import objects

data = save({"embed": np.zeros((16, 8), np.float32), "bias": np.zeros(8, np.float32),
             "steps": np.zeros(3, np.int64)})
oid = hashlib.sha256(data).hexdigest()
user = User.objects.get(username="analyst")
repo = repo_create(user=user, namespace="analyst", name="weights")
objects.ingest(repo=repo, oid=oid, size=len(data), source=io.BytesIO(data))
git = git_repo(repo)
with transaction.atomic():
    sha = commit_to_ref(git, ref="main", ops=[PutFile("model.safetensors", format_pointer(oid, len(data)))],
                        author=Signature("analyst", "analyst@example.com"), message="Add weights")
    repo_reindex(repo=repo, git=git)
    enqueue_repo_analysis(repo, sha)
print(json.dumps({"pk": repo.pk, "sha": sha}))
"""

# Polls inside one process (a manage.py start costs more than a query).
WAIT_FOR_SUMMARY = """
import json, time
from repos.models import Repository
deadline = time.monotonic() + {timeout}
while True:
    summary = Repository.objects.get(pk={pk}).safetensors
    if summary is not None or time.monotonic() > deadline:
        break
    time.sleep(0.25)
print(json.dumps(summary))
"""


@pytest.mark.live
@pytest.mark.worker
def test_worker_stores_the_safetensors_summary(live_hub: LiveHub, live_worker: LiveWorker) -> None:
    live_hub.create_user("analyst")
    created = json.loads(live_hub.manage("shell", "-c", CREATE_AND_ENQUEUE).stdout.strip().splitlines()[-1])

    out = live_hub.manage("shell", "-c", WAIT_FOR_SUMMARY.format(pk=created["pk"], timeout=60)).stdout
    summary = json.loads(out.strip().splitlines()[-1])

    log = live_worker.log()
    assert summary == {"parameters": {"F32": 16 * 8 + 8, "I64": 3}, "total": 16 * 8 + 8 + 3}, log[-3000:]
    # Computed by the worker process, not eagerly by the shell that enqueued it.
    assert "Task repos.repo_analyze[" in log and "succeeded" in log
    assert live_worker.proc.poll() is None
    transport = os.environ.get("CELERY_BROKER_URL", "filesystem://").split("://")[0]
    assert f"transport:   {transport}://" in log

    # What clients see: model_info's `safetensors`, through the real client.
    info = HfApi(endpoint=live_hub.url, token=False).model_info("analyst/weights")
    assert info.safetensors is not None
    assert (info.safetensors.parameters, info.safetensors.total) == (summary["parameters"], summary["total"])
