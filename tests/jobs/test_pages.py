"""Job pages: the repository's Jobs tab, the job page (progress, loss curve, log, result) and
its SVG, visible exactly to readers of the repository."""
from __future__ import annotations

from jobs.curves import loss_svg
from jobs.models import Job
from tests.factories import RepositoryFactory


def test_pages_follow_read_access(client, alice_client, alice):
    public = RepositoryFactory(owner=alice, name="pub")
    private = RepositoryFactory(owner=alice, name="secret", private=True)
    job = Job.objects.create(kind="finetune", repository=public, revision=public.head_sha, state="running",
                             progress=0.5, step=8, loss=0.25, curve=[[1, 0.9], [4, 0.5], [8, 0.25]],
                             log="epoch 1\n")
    hidden = Job.objects.create(kind="evaluate", repository=private, revision=private.head_sha)

    page = client.get(f"/jobs/{job.pk}").content.decode()
    assert 'value="0.5"' in page and "step 8" in page and "loss 0.2500" in page and "epoch 1" in page
    assert f'src="/jobs/{job.pk}/loss.svg?v=8"' in page and "/static/js/jobs.js" in page
    assert "<script>" not in page  # CSP: no inline script
    svg = client.get(f"/jobs/{job.pk}/loss.svg")
    assert svg["Content-Type"] == "image/svg+xml" and 'data-points="3"' in svg.content.decode()

    listing = client.get("/alice/pub/jobs").content.decode()
    assert f'href="/jobs/{job.pk}"' in listing and 'aria-current="page">Jobs<' in listing
    for url in (f"/jobs/{hidden.pk}", f"/jobs/{hidden.pk}/loss.svg", "/alice/secret/jobs", "/jobs/999999"):
        r = client.get(url)
        assert r.status_code == 404 and "secret" not in r.content.decode().split("<title>")[0]
    assert alice_client.get(f"/jobs/{hidden.pk}").status_code == 200
    assert alice_client.get("/alice/secret/jobs").status_code == 200


def test_the_loss_svg_scales_points_and_has_a_placeholder():
    empty = loss_svg([])
    assert "No loss reported yet" in empty and "<script" not in empty
    svg = loss_svg([[0, 2.0], [10, 1.0], [20, 0.5]])
    assert 'data-points="3"' in svg and "M36.0," in svg and "step 20" in svg
