"""Personal-data reports, redaction pull requests and the clean-report rule, in-process
(services, tasks and the API through Django's test client; the worker and the real client
are in test_deid_live.py).

Oracles come from the planted values (tests/safety/pii_dataset.py, Faker with a fixed seed):
recall is checked against them, and "nothing else changed" against the source with each
planted value replaced, never against hard-coded counts.
"""
from __future__ import annotations

import io
import json

import pytest

from hub.exceptions import Conflict
from repos.handles import git_repo
from repos.models import Discussion, Repository
from repos.policy.visibility import PublishRefused
from repos.reviews.services.pull_requests import pull_request_merge
from repos.services.repos import repo_update_settings
from safety import dataset_reports
from safety.dataset_redaction import redaction_request, redaction_run
from safety.dataset_reports import privacy_settings_update, revision_report
from safety.models import DatasetRedaction, DatasetReport
from tests.factories import CollaboratorFactory, RepositoryFactory, bearer, commit, commit_service
from tests.safety.planted import CHECKED, DATA, expected_text


@pytest.fixture(autouse=True)
def _shared_detector(detector, monkeypatch):
    monkeypatch.setattr(dataset_reports, "_detector", detector)


@pytest.fixture
def dataset(alice) -> Repository:
    import uuid

    return RepositoryFactory(owner=alice, name=f"d-{uuid.uuid4().hex[:8]}", repo_type="dataset", private=True)


def pushed(repo: Repository) -> str:
    """The planted dataset in three formats: CSV as a plain blob, JSONL and Parquet over LFS."""
    return commit(repo, files={"data/people.csv": DATA.csv_bytes(), "README.md": b"# people\n"},
                  lfs={"data/people.jsonl": DATA.jsonl_bytes(), "data/people.parquet": DATA.parquet_bytes()})


def reports(repo: Repository) -> dict[str, DatasetReport]:
    return {r.path: r for r in DatasetReport.objects.filter(repository=repo)}


@pytest.mark.django_db
def test_report_recall_is_complete_on_planted_values(dataset: Repository) -> None:
    sha = pushed(dataset)
    counts = revision_report(repo=dataset, sha=sha)
    assert counts == {"findings": 3}
    found = reports(dataset)
    assert set(found) == {"data/people.csv", "data/people.jsonl", "data/people.parquet"}
    for path, report in found.items():
        assert report.status == "findings" and not report.truncated and report.revision == sha, path
        assert report.rows_scanned == len(DATA.rows), path
        # Every planted email, phone, IP and card is counted; the Parquet file also holds
        # the card numbers as int64 (`card_number`), counted once more.
        extra = {"CREDIT_CARD": len(DATA.rows)} if path.endswith(".parquet") else {}
        for entity in CHECKED:
            assert report.totals[entity] == len(DATA.planted[entity]) + extra.get(entity, 0), (path, entity)
    columns = {c["column"]: c for c in found["data/people.csv"].columns}
    assert columns["email"]["counts"] == {"EMAIL_ADDRESS": len(DATA.rows)}
    assert "PERSON" in columns["name"]["hints"] and not columns["name"]["counts"]
    assert not any(columns[c]["counts"] for c in ("id", "city", "signup", "score", "uuid", "active"))
    stored = json.dumps([r.columns for r in found.values()])
    for entity in CHECKED:  # only masked examples are stored
        assert not any(value in stored for value in DATA.planted[entity]), entity
    assert columns["card"]["examples"]["CREDIT_CARD"][0].startswith("*")
    # The same bytes at another revision are not scanned again.
    again = commit(dataset, files={"notes.txt": b"hello\n"})
    assert revision_report(repo=dataset, sha=again) == {"findings": 3}
    assert DatasetReport.objects.filter(repository=dataset).count() == 3


@pytest.mark.django_db
def test_push_events_schedule_reports_for_datasets_only(dataset: Repository, alice, monkeypatch,
                                                        django_capture_on_commit_callbacks) -> None:
    from safety import tasks

    queued: list[tuple[int, str]] = []
    monkeypatch.setattr(tasks.report_dataset_revision, "delay", lambda pk, sha: queued.append((pk, sha)))
    model = RepositoryFactory(owner=alice, name="a-model")
    with django_capture_on_commit_callbacks(execute=True):
        result = commit_service(dataset, files={"a.csv": b"email\nbob@example.com\n"})
        commit_service(model, files={"a.csv": b"email\nbob@example.com\n"})
    assert queued == [(dataset.pk, result.sha)]
    tasks.report_dataset_revision(dataset.pk, result.sha)
    assert reports(dataset)["a.csv"].totals == {"EMAIL_ADDRESS": 1}


@pytest.mark.django_db
def test_redaction_pull_request_and_the_clean_report_rule(dataset: Repository, alice,
                                                          django_capture_on_commit_callbacks) -> None:
    sha = pushed(dataset)
    privacy_settings_update(repo=dataset, require_clean=True)
    with pytest.raises(PublishRefused, match="not finished"):  # no report yet
        repo_update_settings(repo=dataset, user=alice, private=False)
    revision_report(repo=dataset, sha=sha)
    with pytest.raises(PublishRefused, match="has findings in 3 file"):
        repo_update_settings(repo=dataset, user=alice, private=False)
    dataset.refresh_from_db()
    assert dataset.private

    with django_capture_on_commit_callbacks(execute=False):
        redaction = redaction_request(repo=dataset, user=alice, mode="mask")
    assert redaction.state == "queued" and sorted(redaction.paths) == sorted(reports(dataset))
    redaction_run(redaction=DatasetRedaction.objects.get(pk=redaction.pk))
    redaction.refresh_from_db()
    assert redaction.state == "succeeded", redaction.error
    pr = Discussion.objects.get(repository=dataset, num=redaction.pull_request_num)
    git = git_repo(dataset)
    head = git.resolve(pr.git_ref)
    assert git.resolve("main") == sha  # nothing lands before the PR is merged

    csv_after = git.read_blob(git.get_entry(head, "data/people.csv").oid)
    assert csv_after == expected_text(DATA.csv_bytes().decode()).encode()  # other columns byte-identical
    for path in ("data/people.jsonl", "data/people.parquet"):
        assert git.get_entry(head, path).oid != git.get_entry(sha, path).oid
    assert git.read_blob(git.get_entry(head, "README.md").oid) == b"# people\n"

    # The PR head is reported (as the worker would on its event), then merged: clean, public.
    revision_report(repo=dataset, sha=head)
    with django_capture_on_commit_callbacks(execute=False):
        pull_request_merge(repo=dataset, pr=pr, user=alice)
    merged = git.resolve("main")
    revision_report(repo=dataset, sha=merged)
    assert {r.status for r in reports(dataset).values() if r.revision != sha} == {"clean"}
    repo_update_settings(repo=dataset, user=alice, private=False)
    dataset.refresh_from_db()
    assert not dataset.private


@pytest.mark.django_db
def test_pseudonym_redaction_reads_lfs_through_the_byte_door(dataset: Repository, alice) -> None:
    import pyarrow.parquet as pq

    sha = pushed(dataset)
    revision_report(repo=dataset, sha=sha)
    redaction = redaction_request(repo=dataset, user=alice, mode="pseudonym")
    redaction_run(redaction=redaction)
    assert redaction.state == "succeeded", redaction.error
    git = git_repo(dataset)
    pr = Discussion.objects.get(repository=dataset, num=redaction.pull_request_num)
    head = git.resolve(pr.git_ref)
    from repos import objects
    from repos.selectors.files import repo_entry

    entry = repo_entry(git, git.get_entry(head, "data/people.parquet"))
    assert entry.lfs is not None
    with objects.open_object(repo=dataset, oid=entry.lfs.oid) as f:
        table = pq.read_table(io.BytesIO(f.read()))
    emails = table.column("email").to_pylist()
    assert all(e.startswith("user-") and e.endswith("@pseudonym.invalid") for e in emails)
    assert emails[3] == emails[7]  # one address, one pseudonym
    assert table.column("city").to_pylist() == [row["city"] for row in DATA.rows]
    assert redaction.result["files"]["data/people.parquet"]["valuesNulled"] == len(DATA.rows)


@pytest.mark.django_db
def test_redacted_copies_spill_to_disk_encrypted_only(dataset: Repository, alice, monkeypatch, settings) -> None:
    """Issue 12: a copy larger than the memory bound goes to disk, and none of its plaintext
    (every column but the redacted spans) is there, looked at while each copy is still open."""
    import uuid

    import pyarrow as pa
    import pyarrow.parquet as pq

    from safety import dataset_redaction
    from tests.safety.disk import files_holding

    marker = f"NO-PLAINTEXT-{uuid.uuid4().hex}"
    rows = [{"note": f"{marker}-{i}", "email": f"person{i}@example.com"} for i in range(40)]
    csv_bytes = ("note,email\n" + "".join(f"{r['note']},{r['email']}\n" for r in rows)).encode()
    jsonl_bytes = "".join(json.dumps(r) + "\n" for r in rows).encode()
    parquet = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), parquet, compression="none")
    sha = commit(dataset, files={"notes.csv": csv_bytes}, lfs={"notes.jsonl": jsonl_bytes,
                                                                 "notes.parquet": parquet.getvalue()})
    revision_report(repo=dataset, sha=sha)
    monkeypatch.setattr(dataset_redaction, "SPOOL_MEMORY_BYTES", 256)
    leaks: dict[str, list[str]] = {}  # observed here, asserted after (the job catches everything)
    spilled: dict[str, bool] = {}
    operation = dataset_redaction._operation

    def observed(*, repo, file, out):
        leaks[file.path] = files_holding(marker.encode(), settings.TMP_ROOT)
        spilled[file.path] = bool(getattr(out, "rolled", False) or getattr(out, "_rolled", False))
        return operation(repo=repo, file=file, out=out)

    monkeypatch.setattr(dataset_redaction, "_operation", observed)
    redaction = redaction_request(repo=dataset, user=alice, mode="mask")
    redaction_run(redaction=redaction)
    assert redaction.state == "succeeded", redaction.error
    assert spilled == dict.fromkeys(["notes.csv", "notes.jsonl", "notes.parquet"], True)  # the path under test
    assert leaks == dict.fromkeys(spilled, [])
    git = git_repo(dataset)
    head = git.resolve(Discussion.objects.get(repository=dataset, num=redaction.pull_request_num).git_ref)
    after = git.read_blob(git.get_entry(head, "notes.csv").oid)
    assert marker.encode() in after and b"@example.com" not in after  # the copy itself is right


@pytest.mark.django_db
def test_nothing_to_redact_and_unfinished_reports_are_refused(dataset: Repository, alice) -> None:
    sha = commit(dataset, files={"ok.csv": b"id,city\n1,Paris\n"})
    with pytest.raises(Conflict, match="not finished"):
        redaction_request(repo=dataset, user=alice)
    revision_report(repo=dataset, sha=sha)
    with pytest.raises(Conflict, match="nothing to redact"):
        redaction_request(repo=dataset, user=alice)


@pytest.mark.django_db
def test_api_report_settings_redact_and_visibility(client, dataset: Repository, alice, bob,
                                                   django_capture_on_commit_callbacks) -> None:
    sha = pushed(dataset)
    revision_report(repo=dataset, sha=sha)
    base = f"/api/datasets/{dataset.repo_id}/personal-data"
    owner = bearer(alice)
    body = client.get(base, **owner).json()
    assert body["revision"] == sha and body["examplesShown"] and not body["clean"]
    assert {f["path"] for f in body["files"]} == {"data/people.csv", "data/people.jsonl", "data/people.parquet"}
    csv_report = next(f for f in body["files"] if f["path"] == "data/people.csv")
    assert csv_report["totals"]["EMAIL_ADDRESS"] == len(DATA.planted["EMAIL_ADDRESS"])
    assert "examples" in csv_report["columns"][0]

    # A reader sees counts, not examples; a stranger sees a missing repository.
    assert client.get(base, **bearer(bob)).status_code == 404
    CollaboratorFactory(repo=dataset, user=bob, role="read")
    reader = client.get(base, **bearer(bob)).json()
    assert not reader["examplesShown"] and all("examples" not in c for f in reader["files"] for c in f["columns"])
    assert client.post(f"{base}/redact", {}, content_type="application/json", **bearer(bob)).status_code == 403
    assert client.put(f"{base}/settings", {"requireCleanReport": True}, content_type="application/json",
                      **bearer(bob)).status_code == 403

    answer = client.put(f"{base}/settings", {"requireCleanReport": True}, content_type="application/json", **owner)
    assert answer.json() == {"requireCleanReport": True}
    refused = client.put(f"/api/datasets/{dataset.repo_id}/settings", {"private": False},
                         content_type="application/json", **owner)
    assert refused.status_code == 409 and refused["X-Error-Code"] == "PublishRefused"
    assert "personal-data report" in refused["X-Error-Message"]

    bad = client.post(f"{base}/redact", {"mode": "shuffle"}, content_type="application/json", **owner)
    assert bad.status_code == 400
    with django_capture_on_commit_callbacks(execute=False):
        queued = client.post(f"{base}/redact", {"mode": "mask"}, content_type="application/json", **owner)
    assert queued.status_code == 202 and queued.json()["state"] == "queued"
    job = client.get(f"{base}/redactions/{queued.json()['id']}", **owner).json()
    assert job["state"] == "queued" and job["pullRequest"] is None
    assert client.get(f"{base}/redactions/999999", **owner).status_code == 404
    from accounts.models import AuditEvent

    actions = set(AuditEvent.objects.filter(target=str(dataset)).values_list("action", flat=True))
    assert {"repo.personal_data.require_clean", "repo.personal_data.redact"} <= actions


@pytest.mark.django_db
def test_page_shows_counts_to_readers_examples_to_writers_and_takes_actions(
        client, dataset: Repository, alice, bob, django_capture_on_commit_callbacks) -> None:
    from django.test import Client

    sha = pushed(dataset)
    revision_report(repo=dataset, sha=sha)
    url = f"/datasets/{dataset.repo_id}/personal-data"
    owner = Client()
    owner.force_login(alice)
    page = owner.get(url).content.decode()
    assert 'data-pii-file="data/people.csv"' in page and "Masked examples</th>" in page
    assert "data-redact-form" in page and "data-require-clean-form" in page
    assert f'href="/datasets/{dataset.repo_id}/personal-data"' in page  # the tab
    for entity in CHECKED:
        assert not any(value in page for value in DATA.planted[entity]), entity

    CollaboratorFactory(repo=dataset, user=bob, role="read")
    reader = Client()
    reader.force_login(bob)
    seen = reader.get(url).content.decode()
    assert 'data-pii-column="email"' in seen and "Masked examples</th>" not in seen and "data-redact-form" not in seen
    assert reader.post(f"{url}/redact", {"mode": "mask"}).status_code == 403

    answer = owner.post(f"{url}/settings", {"require_clean_report": "on"})
    assert answer.status_code == 302
    refused = owner.post(f"/datasets/{dataset.repo_id}/settings/visibility", {"visibility": "public"}, follow=True)
    assert "has findings in 3 file" in refused.content.decode()
    dataset.refresh_from_db()
    assert dataset.private
    with django_capture_on_commit_callbacks(execute=False):
        started = owner.post(f"{url}/redact", {"mode": "pseudonym"}, follow=True).content.decode()
    assert "Redaction started" in started and 'data-redaction="' in started
    assert DatasetRedaction.objects.get(repository=dataset).mode == "pseudonym"


@pytest.mark.django_db
def test_reports_are_keyed_by_a_digest_of_the_path(dataset: Repository) -> None:
    """A path longer than a PostgreSQL index entry holds (git allows 4096 bytes) still gets a
    report, and the same bytes under two paths keep two reports."""
    from safety.dataset_reports import DatasetFile, file_report
    from safety.tabular.formats import dataset_format

    content = b"id,email\n1,someone@example.org\n"
    long_path = "deep/" * 600 + "people.csv"  # 3,010 characters
    made = {}
    for path in (long_path, "people.csv"):
        file = DatasetFile(path=path, oid="ab" * 20, size=len(content), format=dataset_format(path),
                           is_lfs=False, blob_oid="ab" * 20)
        made[path] = file_report(repo=dataset, sha="cd" * 20, file=file, open_content=lambda: io.BytesIO(content))
    assert {r.path for r in reports(dataset).values()} == {long_path, "people.csv"}
    assert made[long_path].pk != made["people.csv"].pk
    assert made[long_path].status == "findings" and made[long_path].totals["EMAIL_ADDRESS"] == 1
    # Asked again, the stored report is reused, not a second row.
    file = DatasetFile(path=long_path, oid="ab" * 20, size=len(content), format=dataset_format(long_path),
                       is_lfs=False, blob_oid="ab" * 20)
    again = file_report(repo=dataset, sha="ef" * 20, file=file, open_content=lambda: io.BytesIO(b""))
    assert again.pk == made[long_path].pk
