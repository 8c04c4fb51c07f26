"""The verdicts on the pages: a badge per file (tree and blob), the imports on the blob page,
the repository's security page (flagged files for readers, secrets for writers only), and the
owner's "block unsafe files" switch."""
from __future__ import annotations

import pytest
from django.test import Client

from repos.models import Repository
from safety.scanning import revision_scan
from safety.selectors import blocks_unsafe_files
from tests.factories import commit
from tests.safety.model_files import hostile_files

SECRET = b"aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"


@pytest.fixture
def scanned(repo: Repository, tmp_path) -> Repository:
    hostile = hostile_files(str(tmp_path / "canary"))
    sha = commit(repo, lfs={"evil.pkl": hostile["os_system.pkl"]}, files={"README.md": b"# hi\n", "keys.py": SECRET})
    revision_scan(repo=repo, sha=sha)
    commit(repo, files={"later.bin": hostile["subprocess.bin"]}, message="not scanned yet")
    return repo


@pytest.mark.django_db
def test_tree_and_blob_pages_show_the_verdicts(scanned: Repository, client: Client) -> None:
    page = client.get(f"/{scanned.repo_id}/tree/main").content.decode()
    assert 'badge-scan-unsafe' in page and 'badge-scan-safe' in page and 'badge-scan-queued' in page
    assert f'href="/{scanned.repo_id}/security?rev=main"' in page
    blob = client.get(f"/{scanned.repo_id}/blob/main/evil.pkl").content.decode()
    assert "badge-scan-unsafe" in blob and "Pickle imports found by the scanner" in blob and ".system" in blob
    readme = client.get(f"/{scanned.repo_id}/blob/main/README.md").content.decode()
    assert "badge-scan-safe" in readme and "Pickle imports" not in readme


@pytest.mark.django_db
def test_security_page_lists_flagged_files_and_secrets_to_writers_only(scanned: Repository, client: Client,
                                                                       alice_client: Client) -> None:
    anonymous = client.get(f"/{scanned.repo_id}/security").content.decode()
    assert "evil.pkl" in anonymous and "data-flagged" in anonymous and "1 waiting" in anonymous
    assert "keys.py" not in anonymous and "data-secrets" not in anonymous and 'id="secrets"' not in anonymous
    assert "Block unsafe files" not in anonymous
    owner = alice_client.get(f"/{scanned.repo_id}/security").content.decode()
    assert "data-secrets" in owner and "keys.py" in owner and "AWS Access Key" in owner
    assert "AKIAIOSFODNN7EXAMPLE" not in owner  # masked
    assert "Block unsafe files" in owner


@pytest.mark.django_db
def test_owner_turns_blocking_on_and_off(scanned: Repository, alice_client: Client, bob_client: Client) -> None:
    r = alice_client.post(f"/{scanned.repo_id}/settings/security", {"block_unsafe_files": "on"})
    assert r.status_code == 302 and r["Location"] == f"/{scanned.repo_id}/security"
    assert blocks_unsafe_files(scanned)
    assert bob_client.post(f"/{scanned.repo_id}/settings/security", {}).status_code in (403, 404)
    assert blocks_unsafe_files(scanned)
    alice_client.post(f"/{scanned.repo_id}/settings/security", {})
    assert not blocks_unsafe_files(scanned)


@pytest.mark.django_db
def test_private_repository_page_is_hidden(make_repo, client: Client) -> None:
    private = make_repo("hidden", private=True)
    assert client.get(f"/{private.repo_id}/security").status_code == 404
