"""Scanning a revision's files and storing the verdicts (service and task, in-process), and the
verdicts in the API's shapes (tree / paths-info `securityFileStatus`, `securityRepoStatus`)."""
from __future__ import annotations

import io
import json

import pytest

from repos import file_security
from repos.handles import git_repo
from repos.models import Repository
from safety.models import FileScan
from safety.scanning import revision_scan
from safety.selectors import flagged_paths, pending_paths
from safety.tasks import scan_revision
from tests.factories import commit
from tests.safety.model_files import benign_files, hostile_files

SECRET = "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"


@pytest.fixture
def canary(tmp_path) -> str:
    return str(tmp_path / "canary")


@pytest.mark.django_db
def test_every_hostile_file_is_unsafe_benign_ones_safe(repo: Repository, canary, tmp_path) -> None:
    hostile = hostile_files(canary)
    benign = benign_files()
    # Half the hostile files as LFS objects (through the byte door), half as plain blobs.
    names = sorted(hostile)
    lfs = {n: hostile[n] for n in names[::2]} | {"pytorch_model.bin": benign["pytorch_model.bin"]}
    files = {n: hostile[n] for n in names[1::2]} | {"real.safetensors": benign["real.safetensors"],
                                                  "README.md": b"# hello\n"}
    sha = commit(repo, lfs=lfs, files=files)
    assert pending_paths(repo, sha) == set(hostile) | set(benign) | {"README.md", ".gitattributes"}

    counts = scan_revision(repo.pk, sha)

    statuses = {s.path: s.status for s in FileScan.objects.filter(repository=repo)}
    assert {p: statuses[p] for p in hostile} == dict.fromkeys(hostile, "unsafe")
    assert statuses["pytorch_model.bin"] == statuses["real.safetensors"] == statuses["README.md"] == "safe"
    assert counts == {"unsafe": len(hostile), "safe": 4}  # + .gitattributes
    assert flagged_paths(repo, sha) == set(hostile)
    assert flagged_paths(repo, "main") == set(hostile)
    assert file_security.flagged_paths(repo, "main") == set(hostile)  # what jobs ask
    assert pending_paths(repo, sha) == set()
    popen = FileScan.objects.get(repository=repo, path="model.safetensors")
    assert {"module": "subprocess", "name": "Popen", "safety": "dangerous"} in popen.imports
    assert not (tmp_path / "canary").exists()


@pytest.mark.django_db
def test_known_content_is_not_scanned_again(repo: Repository, canary, monkeypatch) -> None:
    evil = hostile_files(canary)["os_system.pkl"]
    sha = commit(repo, lfs={"a.pkl": evil})
    revision_scan(repo=repo, sha=sha)
    from safety import scanning

    def refuse(*a, **k):  # the same bytes under another path reuse the verdict
        raise AssertionError("scanned twice")

    monkeypatch.setattr(scanning, "scan_bytes", refuse)
    sha2 = commit(repo, lfs={"copy/b.bin": evil})
    revision_scan(repo=repo, sha=sha2)
    assert FileScan.objects.get(repository=repo, path="copy/b.bin").status == "unsafe"


@pytest.mark.django_db
def test_a_scan_that_cannot_read_the_bytes_is_an_error(repo: Repository) -> None:
    from tests.factories import LfsObjectFactory, lfs_pointer

    late = hostile_files("/nonexistent/canary")["os_system.pkl"]
    sha = commit(repo, files={"gone.bin": lfs_pointer(late)})
    assert revision_scan(repo=repo, sha=sha)["failed"] == 1
    assert FileScan.objects.get(repository=repo, path="gone.bin").status == "error"
    assert flagged_paths(repo, sha) == {"gone.bin"}
    # A read failure is not a verdict on the content: the next scan tries again.
    LfsObjectFactory(repo=repo, data=late)
    assert "failed" not in revision_scan(repo=repo, sha=sha)
    assert FileScan.objects.get(repository=repo, path="gone.bin").status == "unsafe"


@pytest.mark.django_db
def test_secrets_are_recorded_masked(repo: Repository) -> None:
    sha = commit(repo, files={"config.py": SECRET.encode()})
    revision_scan(repo=repo, sha=sha)
    scan = FileScan.objects.get(repository=repo, path="config.py")
    assert scan.status == "safe" and scan.secrets
    assert "AKIAIOSFODNN7EXAMPLE" not in json.dumps(scan.secrets)
    assert scan.secrets[0]["type"] == "AWS Access Key"


@pytest.mark.django_db
def test_api_shows_the_hub_shapes(repo: Repository, alice_client, canary) -> None:
    hostile = hostile_files(canary)
    sha = commit(repo, lfs={"evil.pkl": hostile["os_system.pkl"]}, files={"README.md": b"hi\n",
                                                                          "late.bin": hostile["subprocess.bin"]})
    revision_scan(repo=repo, sha=sha)
    FileScan.objects.filter(repository=repo, path="late.bin").delete()  # as if not scanned yet

    tree = alice_client.get(f"/api/models/{repo.repo_id}/tree/main?expand=true").json()
    security = {e["path"]: e.get("securityFileStatus") for e in tree}
    assert security["evil.pkl"]["status"] == "unsafe"
    assert security["evil.pkl"]["pickleImportScan"]["highestSafetyLevel"] == "dangerous"
    assert {(i["name"], i["safety"]) for i in security["evil.pkl"]["pickleImportScan"]["imports"]} == {
        ("system", "dangerous")}
    assert security["README.md"] == {"status": "safe", "avScan": None, "pickleImportScan": None}
    assert security["late.bin"]["status"] == "queued"
    plain = alice_client.get(f"/api/models/{repo.repo_id}/tree/main").json()
    assert all("securityFileStatus" not in e for e in plain)

    info = alice_client.post(f"/api/models/{repo.repo_id}/paths-info/main",
                             data=json.dumps({"paths": ["evil.pkl"], "expand": True}),
                             content_type="application/json").json()
    assert info[0]["securityFileStatus"]["status"] == "unsafe"

    repo_status = alice_client.get(f"/api/models/{repo.repo_id}?securityStatus=true").json()["securityRepoStatus"]
    assert repo_status == {"scansDone": False, "filesWithIssues": [{"path": "evil.pkl", "level": "unsafe"}]}
    assert "securityRepoStatus" not in alice_client.get(f"/api/models/{repo.repo_id}").json()


@pytest.mark.django_db
def test_unknown_revision_has_no_flags(repo: Repository) -> None:
    assert flagged_paths(repo, "nope") == set()
    assert git_repo(repo) is not None


@pytest.mark.django_db
def test_encrypted_objects_of_private_repositories_are_scanned(make_repo, canary) -> None:
    private = make_repo("secret-model", private=True)
    hostile = hostile_files(canary)
    sha = commit(private, lfs={"evil.pt": hostile["torch_evil.pt"], "model.safetensors": hostile["model.safetensors"]})
    revision_scan(repo=private, sha=sha)
    assert flagged_paths(private, sha) == {"evil.pt", "model.safetensors"}



@pytest.mark.django_db
def test_a_zip_in_a_stream_of_a_private_repository_is_scanned_not_skipped(make_repo, canary) -> None:
    """Its copy is encrypted on disk now, so private files get the same verdict as public ones
    (it used to be refused as "unscanned" to keep the plaintext off the disk)."""
    import gzip
    import os
    import pickle
    import zipfile

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:  # larger than the scanner's 4 KiB head: really spooled
        z.writestr("archive/data.pkl", pickle.dumps({"weight": 1}, protocol=2))
        z.writestr("archive/data/0", os.urandom(64 * 1024))
    private = make_repo("zipped-model", private=True)
    sha = commit(private, lfs={"model.pt.gz": gzip.compress(archive.getvalue())})
    revision_scan(repo=private, sha=sha)
    scan = FileScan.objects.get(repository=private, path="model.pt.gz")
    assert scan.status == "safe", scan.reasons


@pytest.mark.django_db
def test_hub_tokens_leaked_in_public_repositories_are_revoked(repo: Repository, make_repo, alice) -> None:
    from accounts.models import AccessToken, AuditEvent
    from accounts.services.tokens import token_authenticate, token_create

    _, public_key = token_create(user=alice, name="leaked-public")
    _, private_key = token_create(user=alice, name="kept-private")
    sha = commit(repo, files={"train.py": f'HF_TOKEN = "{public_key}"\n'.encode()})
    private = make_repo("private-notes", private=True)
    private_sha = commit(private, files={"notes.txt": f"token: {private_key}\n".encode()})

    revision_scan(repo=repo, sha=sha)
    revision_scan(repo=private, sha=private_sha)

    assert token_authenticate(public_key) is None  # revoked: anyone could read it there
    assert token_authenticate(private_key) is not None
    [finding] = FileScan.objects.get(repository=repo, path="train.py").secrets
    assert finding["type"] == "Hugging Face Token" and finding["revoked"] is True
    assert public_key not in json.dumps(finding)
    event = AuditEvent.objects.get(action="token.revoke", data__reason="leaked")
    assert event.actor == alice and event.data["found_in"] == f"{repo.repo_id}:train.py"
    assert AccessToken.objects.get(name="kept-private").revoked_at is None


@pytest.mark.django_db
def test_the_jobs_guard_scans_what_the_worker_has_not_yet(repo: Repository, canary) -> None:
    from django.conf import settings
    from django.utils.module_loading import import_string

    hostile = hostile_files(canary)
    sha = commit(repo, lfs={"model.safetensors": hostile["model.safetensors"]},
                 files={"config.json": b"{}", "pytorch_model.bin": benign_files()["pytorch_model.bin"]})
    assert flagged_paths(repo, sha) == set()  # nothing judged yet
    [guard] = [import_string(g) for g in settings.HUB_JOB_FILE_GUARDS]
    assert guard(repo, sha) == {"model.safetensors"}
    assert pending_paths(repo, sha) == set()
    # An object that is not stored at all is the snapshot's clear failure, not a scan verdict.
    from tests.factories import lfs_pointer

    sha2 = commit(repo, files={"model.safetensors": lfs_pointer(b"never stored")})
    assert guard(repo, sha2) == set()


@pytest.mark.django_db
def test_rescanning_a_known_revision_costs_a_query_per_batch(repo: Repository, django_assert_max_num_queries) -> None:
    sha = commit(repo, files={f"data/{i:03d}.txt": f"row {i}\n".encode() for i in range(120)})
    first = revision_scan(repo=repo, sha=sha)
    with django_assert_max_num_queries(3):
        assert revision_scan(repo=repo, sha=sha) == first


@pytest.mark.django_db
def test_the_longest_paths_git_accepts_are_stored(repo: Repository) -> None:
    path = "/".join(["d" * 200] * 20) + "/x.bin"  # ~4 KB: past a PostgreSQL btree entry
    sha = commit(repo, files={path: b"\x80\x04K\x01."})
    revision_scan(repo=repo, sha=sha)
    scan = FileScan.objects.get(repository=repo, path=path)
    assert scan.status == "safe" and len(scan.path_digest) == 64
    assert revision_scan(repo=repo, sha=sha)["safe"] == 2  # + .gitattributes, found again
