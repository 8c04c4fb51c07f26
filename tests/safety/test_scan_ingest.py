"""The browser upload form's commits are scanned too: the event door's subscriber enqueues
`safety.scan_revision` (run eagerly here), and the verdicts show in the API."""
from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from repos.models import Repository
from safety.models import FileScan
from safety.tasks import scan_revision
from tests.safety.model_files import benign_files, hostile_files


@pytest.mark.django_db(transaction=True)
def test_browser_upload_is_scanned(repo: Repository, alice_client, monkeypatch, tmp_path,
                                   django_capture_on_commit_callbacks) -> None:
    monkeypatch.setitem(scan_revision.app.conf, "task_always_eager", True)
    hostile, benign = hostile_files(str(tmp_path / "canary")), benign_files()
    files = [SimpleUploadedFile(name, data) for name, data in (hostile | benign).items()]
    with django_capture_on_commit_callbacks(execute=True):
        r = alice_client.post(f"/{repo.repo_id}/upload/main", {"files": files, "summary": "corpus"})
    assert r.status_code == 302, r.content[:500]

    statuses = {s.path: s.status for s in FileScan.objects.filter(repository=repo)}
    assert {p: statuses.get(p) for p in hostile} == dict.fromkeys(hostile, "unsafe")
    assert {p: statuses.get(p) for p in benign} == dict.fromkeys(benign, "safe")
    tree = alice_client.get(f"/api/models/{repo.repo_id}/tree/main?expand=true").json()
    assert {e["path"]: e["securityFileStatus"]["status"] for e in tree if e["path"] in hostile} == \
        dict.fromkeys(hostile, "unsafe")
