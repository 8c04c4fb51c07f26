"""Malware scanning with a real clamd (tests/safety/clamd.py) through the hub's ingest paths:
the commit API (a regular file, and an LFS file of a private repository, encrypted at rest and
read back through the byte door), the browser upload form; the verdicts in the API shapes, on
the pages, in the block-unsafe rule and in the jobs' file guard; clamd down, and files over the
stream limit, are never "safe"."""
from __future__ import annotations

import base64
import hashlib
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from huggingface_hub.hf_api import RepoFile

from hub.exceptions import BadRequest
from repos.handles import git_repo
from repos.models import Repository
from safety.models import FileScan
from safety.rules import BLOCKED_MESSAGE
from safety.scanning import FAILED_PREFIX, job_file_guard, revision_scan, scanner_version
from safety.services import safety_settings_update
from safety.tasks import scan_revision
from tests.factories import LfsObjectFactory, RepositoryFactory, TokenFactory, auth, commit, commit_service
from tests.safety.clamd import MARKER, STREAM_MAX_BYTES, VIRUS_NAME, running_clamd

INFECTED = b"# notes\n" + MARKER + b"\n"
CLEAN = b"# clean notes\n"
INFECTED_STATUS = {"status": "unsafe", "avScan": {"virusFound": True, "virusNames": [VIRUS_NAME]},
                   "pickleImportScan": None}
CLEAN_STATUS = {"status": "safe", "avScan": {"virusFound": False, "virusNames": None}, "pickleImportScan": None}


def ndjson(*items: dict) -> bytes:
    return b"".join(json.dumps(item).encode() + b"\n" for item in items)


def api_commit(client, repo: Repository, token: str, *, files: dict[str, bytes] | None = None,
               lfs: dict[str, bytes] | None = None):
    ops: list[dict] = [{"key": "header", "value": {"summary": "upload", "description": ""}}]
    ops += [{"key": "file", "value": {"path": p, "content": base64.b64encode(d).decode(), "encoding": "base64"}}
            for p, d in (files or {}).items()]
    for path, data in (lfs or {}).items():
        LfsObjectFactory(repo=repo, data=data)  # the LFS upload, through the byte door
        ops.append({"key": "lfsFile", "value": {"path": path, "algo": "sha256", "size": len(data),
                                                "oid": hashlib.sha256(data).hexdigest()}})
    return client.post(f"/api/models/{repo.repo_id}/commit/main", data=ndjson(*ops),
                       content_type="application/x-ndjson", **auth(token))


def security_of(client, repo: Repository, paths: list[str]) -> tuple[dict, dict]:
    tree = client.get(f"/api/models/{repo.repo_id}/tree/main?expand=true").json()
    info = client.post(f"/api/models/{repo.repo_id}/paths-info/main", data=json.dumps({"paths": paths, "expand": True}),
                       content_type="application/json").json()
    return ({e["path"]: e.get("securityFileStatus") for e in tree if e["path"] in paths},
            {e["path"]: e.get("securityFileStatus") for e in info})


@pytest.fixture
def eager(monkeypatch):
    monkeypatch.setitem(scan_revision.app.conf, "task_always_eager", True)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("private", [False, True], ids=["public", "private-encrypted"])
def test_api_commit_regular_and_lfs_files(antivirus, alice, alice_client, eager, private,
                                          django_capture_on_commit_callbacks) -> None:
    repo = RepositoryFactory(owner=alice, name=f"av-{'p' if private else 'o'}", private=private)
    token = TokenFactory(user=alice, name="w").secret
    with django_capture_on_commit_callbacks(execute=True):
        r = api_commit(alice_client, repo, token, files={"notes.txt": INFECTED, "README.md": CLEAN},
                       lfs={"weights.bin": INFECTED + b"\0" * 4096, "clean.bin": CLEAN + b"\0" * 4096})
    assert r.status_code == 200, r.content[:500]

    paths = ["notes.txt", "README.md", "weights.bin", "clean.bin"]
    tree, info = security_of(alice_client, repo, paths)
    expected = {"notes.txt": INFECTED_STATUS, "weights.bin": INFECTED_STATUS,
                "README.md": CLEAN_STATUS, "clean.bin": CLEAN_STATUS}
    assert tree == expected and info == expected
    # What huggingface_hub makes of it (its own parser: `RepoFile.security`).
    entries = alice_client.post(f"/api/models/{repo.repo_id}/paths-info/main", content_type="application/json",
                                data=json.dumps({"paths": ["weights.bin", "clean.bin"], "expand": True})).json()
    security = {e["path"]: RepoFile(**e).security for e in entries}
    assert security["weights.bin"]["safe"] is False and security["weights.bin"]["status"] == "unsafe"
    assert security["weights.bin"]["av_scan"] == {"virusFound": True, "virusNames": [VIRUS_NAME]}
    assert security["clean.bin"]["safe"] is True
    assert security["clean.bin"]["av_scan"] == {"virusFound": False, "virusNames": None}
    scan = FileScan.objects.get(repository=repo, path="weights.bin")
    assert scan.scanner_version == scanner_version() and scan.scanner_version.endswith("/clamav-1")
    assert any(VIRUS_NAME in r for r in scan.reasons)

    # Downstream: the jobs refuse the infected files; the pages show the virus name.
    assert job_file_guard(repo, git_repo(repo).resolve("main")) == {"notes.txt", "weights.bin"}
    page = alice_client.get(f"/{repo.repo_id}/security").content.decode()
    assert "notes.txt" in page and "weights.bin" in page and VIRUS_NAME in page and "clean.bin" not in page
    blob = alice_client.get(f"/{repo.repo_id}/blob/main/notes.txt").content.decode()
    assert "data-virus" in blob and VIRUS_NAME in blob
    assert "data-virus" not in alice_client.get(f"/{repo.repo_id}/blob/main/README.md").content.decode()


@pytest.mark.django_db(transaction=True)
def test_browser_upload(antivirus, repo: Repository, alice_client, eager, django_capture_on_commit_callbacks) -> None:
    files = [SimpleUploadedFile("evil.txt", INFECTED), SimpleUploadedFile("fine.txt", CLEAN)]
    with django_capture_on_commit_callbacks(execute=True):
        r = alice_client.post(f"/{repo.repo_id}/upload/main", {"files": files, "summary": "upload"})
    assert r.status_code == 302, r.content[:500]
    tree, _ = security_of(alice_client, repo, ["evil.txt", "fine.txt"])
    assert tree == {"evil.txt": INFECTED_STATUS, "fine.txt": CLEAN_STATUS}


@pytest.mark.django_db
@pytest.mark.parametrize("as_lfs", [False, True], ids=["regular", "lfs"])
def test_blocking_repository_refuses_infected_files(antivirus, repo: Repository, as_lfs) -> None:
    safety_settings_update(repo=repo, block_unsafe_files=True)
    head = git_repo(repo).resolve("main")
    files = {"fine.txt": CLEAN, "evil.txt": INFECTED}
    with pytest.raises(BadRequest) as refused:
        commit_service(repo, **({"lfs": files} if as_lfs else {"files": files}))
    assert BLOCKED_MESSAGE in refused.value.message and VIRUS_NAME in refused.value.message
    assert "Offending file: evil.txt" in refused.value.message
    assert git_repo(repo).resolve("main") == head
    commit_service(repo, files={"fine.txt": CLEAN})  # clean files pass


@pytest.mark.django_db
def test_clamd_down_is_an_error_retried_then_judged(repo: Repository, settings) -> None:
    with running_clamd() as own:
        settings.HUB_CLAMD_SOCKET = str(own.socket)
        sha = commit(repo, files={"evil.txt": INFECTED, "fine.txt": CLEAN})
        own.stop()
        counts = revision_scan(repo=repo, sha=sha)
        scans = {s.path: s for s in FileScan.objects.filter(repository=repo)}
        assert {p: s.status for p, s in scans.items()} == {"evil.txt": "error", "fine.txt": "error",
                                                          ".gitattributes": "error"}
        assert all(s.reasons[0].startswith(f"{FAILED_PREFIX}malware scanner: ") for s in scans.values())
        assert all(s.av_scan is None for s in scans.values())
        assert counts["failed"] == 3  # the task retries these

    with running_clamd() as again:  # clamd back: the next scan judges them
        settings.HUB_CLAMD_SOCKET = str(again.socket)
        revision_scan(repo=repo, sha=sha)
        statuses = {s.path: s.status for s in FileScan.objects.filter(repository=repo)}
        assert statuses == {"evil.txt": "unsafe", "fine.txt": "safe", ".gitattributes": "safe"}


@pytest.mark.django_db
def test_files_over_the_stream_limit_are_not_safe(antivirus, repo: Repository, settings) -> None:
    big = MARKER + b"\0" * STREAM_MAX_BYTES
    settings.HUB_CLAMD_MAX_BYTES = STREAM_MAX_BYTES
    sha = commit(repo, lfs={"big.bin": big}, files={"small.txt": CLEAN})
    revision_scan(repo=repo, sha=sha)
    scan = FileScan.objects.get(repository=repo, path="big.bin")
    assert scan.status == "unscanned" and scan.av_scan is None
    assert any("malware scanner: not scanned" in r for r in scan.reasons)
    assert FileScan.objects.get(repository=repo, path="small.txt").status == "safe"

    # Configured above clamd's own StreamMaxLength: clamd refuses the stream, an error.
    settings.HUB_CLAMD_MAX_BYTES = 4 * STREAM_MAX_BYTES
    sha = commit(repo, lfs={"big2.bin": big + b"2"})
    revision_scan(repo=repo, sha=sha)
    scan = FileScan.objects.get(repository=repo, path="big2.bin")
    assert scan.status == "error" and scan.av_scan is None
    assert scan.reasons[0].startswith(f"{FAILED_PREFIX}malware scanner: clamd")


@pytest.mark.django_db
def test_without_clamd_configured_av_scan_stays_null(repo: Repository, settings) -> None:
    settings.HUB_CLAMD_SOCKET = settings.HUB_CLAMD_ADDRESS = ""
    sha = commit(repo, files={"evil.txt": INFECTED})
    revision_scan(repo=repo, sha=sha)
    scan = FileScan.objects.get(repository=repo, path="evil.txt")
    assert scan.status == "safe" and scan.av_scan is None and "clamav" not in scan.scanner_version
