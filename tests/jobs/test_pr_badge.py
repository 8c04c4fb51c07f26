"""The PR page's evaluation badge (`jobs.pr_evaluation.evaluation_badge`, registered with
`repos.reviews.badges`): the latest evaluation of the PR's current head, shown whether or not
a merge rule requires it, never for an older head."""
from __future__ import annotations

from jobs.models import Job
from tests.factories import RepositoryFactory, commit, commit_service


def test_the_pr_page_shows_the_latest_evaluation_of_its_head(alice, bob, client):
    model = RepositoryFactory(owner=alice, name="m")
    commit(model, files={"README.md": b"# m\n"})  # no model-index: nothing evaluates it by itself
    opened = commit_service(model, user=bob, files={"notes.txt": b"hi"}, create_pr=True)
    pr = opened.pull_request
    url = f"/alice/m/discussions/{pr.num}"
    page = client.get(url).content.decode()
    assert 'data-badge="evaluation"' not in page  # no evaluation job: no badge

    def job(**fields) -> Job:
        return Job.objects.create(kind="evaluate", repository=model, revision=opened.sha, discussion=pr, **fields)

    first = job(state="running")
    page = client.get(url).content.decode()
    assert 'data-state="running"' in page and f'href="/jobs/{first.pk}"' in page
    assert 'data-check="evaluation"' not in page  # not a required check here: badge only

    job(state="succeeded", result={"verdict": "regress"})
    assert 'data-state="regress"' in client.get(url).content.decode()
    job(state="succeeded", result={"verdict": "pass"})
    assert 'data-state="pass"' in client.get(url).content.decode()
    failed = job(state="failed", error="The head's weights are not safetensors")
    page = client.get(url).content.decode()
    assert 'data-state="failed"' in page and "not safetensors" in page and f'href="/jobs/{failed.pk}"' in page

    # The head moves: the old head's results no longer describe the PR.
    commit_service(model, user=bob, revision=f"refs/pr/{pr.num}", files={"more.txt": b"x"})
    assert 'data-badge="evaluation"' not in client.get(url).content.decode()
