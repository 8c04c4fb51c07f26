"""The jobs API and `manage.py jobs`: visible exactly to readers of the repository, hidden
jobs are missing ones, submission by writers, cancellation by writers and submitters."""
from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from jobs.models import Job
from tests.factories import RepositoryFactory, TokenFactory, auth, commit
from tests.jobs.test_pr_evaluation import CARD


@pytest.fixture
def world(alice, bob):
    public = RepositoryFactory(owner=alice, name="pub")
    private = RepositoryFactory(owner=alice, name="secret", private=True)
    pub_job = Job.objects.create(kind="evaluate", repository=public, revision=public.head_sha, log="line one\n")
    priv_job = Job.objects.create(kind="evaluate", repository=private, revision=private.head_sha)
    tokens = {"alice": TokenFactory(user=alice, name="w").secret, "bob": TokenFactory(user=bob, name="w").secret}
    return public, private, pub_job, priv_job, tokens


def test_listing_and_detail_follow_read_access(client, world):
    public, private, pub_job, priv_job, tokens = world
    ids = lambda r: [j["id"] for j in r.json()]  # noqa: E731
    assert ids(client.get("/api/jobs")) == [pub_job.pk]
    assert ids(client.get("/api/jobs", **auth(tokens["bob"]))) == [pub_job.pk]
    assert ids(client.get("/api/jobs", **auth(tokens["alice"]))) == [priv_job.pk, pub_job.pk]
    assert ids(client.get("/api/models/alice/pub/jobs")) == [pub_job.pk]

    r = client.get(f"/api/jobs/{pub_job.pk}")
    assert r.status_code == 200
    body = r.json()
    assert body["repo"] == {"id": "alice/pub", "type": "model"} and body["state"] == "queued"
    assert body["progress"] == {"fraction": 0.0, "step": 0, "loss": None, "metrics": {}}
    assert client.get(f"/api/jobs/{pub_job.pk}/logs").json()["log"] == "line one\n"

    for who in (None, tokens["bob"]):
        for url in (f"/api/jobs/{priv_job.pk}", f"/api/jobs/{priv_job.pk}/logs", "/api/jobs/999999"):
            r = client.get(url, **auth(who))
            assert r.status_code == 404 and "secret" not in r.content.decode()
        r = client.get("/api/models/alice/secret/jobs", **auth(who))
        assert r.status_code == 404 and r["X-Error-Code"] == "RepoNotFound"
    assert client.get(f"/api/jobs/{priv_job.pk}", **auth(tokens["alice"])).status_code == 200
    assert client.get("/api/jobs?limit=0").status_code == 400
    assert client.get("/api/jobs?limit=" + "9" * 5000).status_code == 400
    assert client.get("/api/jobs?state=stuck").status_code == 400
    assert client.get("/api/jobs?state=queued&kind=evaluate&limit=1").status_code == 200


def test_cancel_by_writers_and_submitters(client, world, bob):
    public, private, pub_job, priv_job, tokens = world
    assert client.post(f"/api/jobs/{pub_job.pk}/cancel").status_code == 401
    r = client.post(f"/api/jobs/{pub_job.pk}/cancel", **auth(tokens["bob"]))
    assert r.status_code == 403 and "X-Error-Message" in r
    assert client.post(f"/api/jobs/{priv_job.pk}/cancel", **auth(tokens["bob"])).status_code == 404
    r = client.post(f"/api/jobs/{pub_job.pk}/cancel", **auth(tokens["alice"]))
    assert r.status_code == 202 and r.json()["state"] == "cancelled"
    own = Job.objects.create(kind="evaluate", repository=public, revision=public.head_sha, created_by=bob)
    assert client.post(f"/api/jobs/{own.pk}/cancel", **auth(tokens["bob"])).json()["state"] == "cancelled"


def test_submission_by_writers_uses_the_cards_model_index(client, world, alice):
    public, private, pub_job, priv_job, tokens = world
    r = client.post("/api/models/alice/pub/jobs", {"kind": "evaluate"}, content_type="application/json",
                    **auth(tokens["alice"]))
    assert r.status_code == 422 and "declares no model-index" in r["X-Error-Message"]
    commit(public, files={"README.md": CARD})
    r = client.post("/api/models/alice/pub/jobs", {"kind": "evaluate"}, content_type="application/json",
                    **auth(tokens["alice"]))
    assert r.status_code == 400 and "alice/reviews" in r["X-Error-Message"]
    data = RepositoryFactory(owner=alice, name="reviews", repo_type="dataset", private=True)
    commit(data, files={"test.csv": b"text,label\ngood,pos\n"})
    r = client.post("/api/models/alice/pub/jobs", {"kind": "evaluate", "revision": "main"},
                    content_type="application/json", **auth(tokens["alice"]))
    assert r.status_code == 202, r.content
    body = r.json()
    public.refresh_from_db()
    data.refresh_from_db()
    assert body["state"] == "queued" and body["revision"] == public.head_sha
    assert body["dataset"] == {"id": "alice/reviews", "revision": data.head_sha}
    # Readers of the public model who cannot read the private dataset do not learn its name.
    assert client.get(f"/api/jobs/{body['id']}").json()["dataset"] is None
    r = client.post("/api/models/alice/pub/jobs", {"kind": "evaluate"}, content_type="application/json",
                    **auth(tokens["bob"]))
    assert r.status_code == 403
    r = client.post("/api/models/alice/pub/jobs", {"kind": "mine-bitcoin"}, content_type="application/json",
                    **auth(tokens["alice"]))
    assert r.status_code == 400
    r = client.post("/api/models/alice/pub/jobs", {"kind": "evaluate", "revision": "nope"},
                    content_type="application/json", **auth(tokens["alice"]))
    assert r.status_code == 404 and r["X-Error-Code"] == "RevisionNotFound"


def test_operator_commands(world):
    public, private, pub_job, priv_job, tokens = world
    out = StringIO()
    call_command("jobs", "list", stdout=out)
    lines = out.getvalue().splitlines()
    assert [int(line.split("\t")[0]) for line in lines] == [priv_job.pk, pub_job.pk]
    out = StringIO()
    call_command("jobs", "cancel", str(pub_job.pk), stdout=out)
    assert out.getvalue().strip() == f"{pub_job.pk}\tcancelled"
    out = StringIO()
    call_command("jobs", "retry", str(pub_job.pk), stdout=out)
    assert out.getvalue().strip() == f"{pub_job.pk}\tqueued"
    out = StringIO()
    call_command("jobs", "show", str(priv_job.pk), stdout=out)
    assert json.loads(out.getvalue())["repo"]["id"] == "alice/secret"
    out = StringIO()
    call_command("jobs", "reap", stdout=out)
    assert json.loads(out.getvalue()) == {"requeued": 0, "failed": 0, "resent": 0}
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Only failed or cancelled jobs"):
        call_command("jobs", "retry", str(priv_job.pk))
